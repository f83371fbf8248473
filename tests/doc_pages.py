"""The project's prose pages and the code blocks in them, for the tests that check the
blocks against the code (tests/test_readme.py, tests/test_docs.py and the tests that run
the pre-commit and workflow snippets)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from cli_support import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
# Every page a user reads: the README, the manual, and the pages the manual links in.
PAGES = [README, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md",
         *sorted(p for p in DOCS.rglob("*.md") if not p.is_symlink())]
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(page: Path) -> list[tuple[str, str]]:
    """(language, body) of every fenced block of `page`."""
    return _BLOCK.findall(page.read_text())


def snippets(language: str, pages: list[Path] = PAGES) -> list[str]:
    return [body for page in pages for lang, body in blocks(page) if lang == language]


def commands(pages: list[Path] = PAGES) -> list[list[str]]:
    """Every command line of the shell snippets, split at `&&`, comments dropped."""
    found = []
    for body in snippets("sh", pages):
        for line in body.splitlines():
            words = shlex.split(line, comments=True)
            while "&&" in words:
                found.append(words[:words.index("&&")])
                words = words[words.index("&&") + 1:]
            if words:
                found.append(words)
    return found


def normalized_output(text: str) -> str:
    """Console output, without what differs between runs and machines: timings, ports,
    server versions and which process ran lint."""
    text = re.sub(r"\b\d+\.\d+s\b", "T", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    text = re.sub(r"PostgreSQL \d+(\.\d+)?", "PostgreSQL N", text)
    text = re.sub(r"project-output-\d{8}T\d{6}Z-\d+(-\d+)?\.log", "project-output-RUN.log", text)
    text = re.sub(r"backend \w+: .*? (?:on|at) 127", "backend B 127", text)
    return re.sub(r"; run by [^\n]*", "", text)
