"""`python -m checks db-up`: start the persistent dev server (data survives db-down)."""

from __future__ import annotations

import sys

from harness import dev_server


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    url = dev_server.up()
    sys.stdout.write(f"db-up: running, data in volume {dev_server.VOLUME}\n"
                     f"db-up: export DATABASE_URL={url}\n")
    return 0
