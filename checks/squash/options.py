"""`verify --squash-check REF`: the option, and the stage it turns on."""

from __future__ import annotations

OPTION = "--squash-check"


def add_squash_arguments(parser) -> None:
    parser.add_argument(OPTION, metavar="REF", help="after a squash: build the history of git REF "
                        "(the commit before it, e.g. HEAD~1) to the squash point and fail on any difference "
                        "from the new base; runs the squash stage and lists how to stamp old databases")


def with_squash_stage(args, stages: list[str]) -> list[str]:
    """The stages to run: --squash-check adds the squash stage to them."""
    if getattr(args, "squash_check", None) and "squash" not in stages:
        from checks.stages import adding

        return adding(stages, "squash")
    return stages
