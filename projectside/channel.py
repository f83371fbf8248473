"""Messages between the suite and this process: one JSON object per line, on two pipes.

The project's code prints to stdout and stderr as it likes (Alembic's log lines, an app's
banner), so the messages travel on file descriptors of their own. Values that JSON has no
type for (a date, a Decimal, bytes) read from a database travel as text.
"""

from __future__ import annotations

import json
import os


def _plain(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


class Channel:
    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._reader = os.fdopen(read_fd, "r", encoding="utf-8", newline="\n")
        self._writer = os.fdopen(write_fd, "w", encoding="utf-8", newline="\n")

    def send(self, message: dict) -> None:
        self._writer.write(json.dumps(message, default=_plain) + "\n")
        self._writer.flush()

    def receive(self) -> dict | None:
        """The next message, or None when the suite has gone."""
        line = self._reader.readline()
        if not line:
            return None
        return json.loads(line)
