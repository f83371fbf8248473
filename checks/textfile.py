"""Reading the project's text files the way their own tools read them, or saying why not.

Settings, alembic.ini and the lock file are UTF-8; editors on Windows put a byte-order mark
in front, which tomllib and configparser would take for content. Revision files are Python
source, decoded as Python decodes them (a BOM or a coding cookie, else UTF-8), so a file
Alembic imports is never reported unreadable here.
"""

from __future__ import annotations

import codecs
import io
import tokenize
from pathlib import Path

from checks.errors import ConfigError


def read_text(path: Path, otherwise: str = "") -> str:
    """The file's UTF-8 text without a leading BOM, or a ConfigError naming the line of the
    first byte that is not UTF-8 or is NUL (never meant: a binary file, a broken copy; it
    breaks paths and environment variables). `otherwise` is the other way out, said last."""
    tail = f"; {otherwise}" if otherwise else ""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc}){tail}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path} line {line} is not UTF-8 (byte 0x{data[exc.start]:02x}); "
                          f"save the file as UTF-8{tail}") from None
    if "\0" in text:
        line = text[:text.index("\0")].count("\n") + 1
        raise ConfigError(f"{path} line {line} contains a NUL byte, so it is not a text file; "
                          f"remove it{tail}")
    return text


def starts_with_bom(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(3) == codecs.BOM_UTF8


def python_source(path: str | Path) -> str:
    """A revision file's text as Python reads it; SyntaxError or UnicodeDecodeError if it cannot."""
    data = Path(path).read_bytes()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode("utf-8-sig" if encoding == "utf-8-sig" else encoding)
