"""The rolling-deploy options of `verify`: which release still runs while the migration does."""

from __future__ import annotations

from checks.errors import ConfigError
from checks.stages import adding


def add_rolling_arguments(parser) -> None:
    group = parser.add_argument_group("rolling deploys", "replay what the release still running sends "
                                      "(its models, from git) after each new revision: the rolling stage")
    group.add_argument("--previous-release", metavar="REF", help="the git tag or commit production runs "
                       "(default with --git-base: its merge-base); adds the rolling stage")
    group.add_argument("--code-first", action="store_true", help="the rolling stage also replays this "
                       "release's statements on the schema before the new revisions (code deployed "
                       "before the migration)")


def with_rolling(args, stages: list[str], chosen: bool) -> list[str]:
    """`stages` with the rolling stage added when a previous release is named and no stage
    list was chosen (by --stage or the stages setting)."""
    named = bool(args.previous_release or args.git_base)
    if args.code_first and not named:
        raise ConfigError("--code-first replays this release against the previous release's schema; "
                          "name that release with --previous-release REF or --git-base REF")
    if named and not chosen and "rolling" not in stages:
        return adding(stages, "rolling")
    return stages
