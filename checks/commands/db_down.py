"""`python -m checks db-down`: stop the dev server, keeping its data."""

from __future__ import annotations

import sys

from harness import dev_server


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    dev_server.down()
    sys.stdout.write(f"db-down: stopped; data kept in volume {dev_server.VOLUME} "
                     f"(`docker volume rm {dev_server.VOLUME}` deletes it for good)\n")
    return 0
