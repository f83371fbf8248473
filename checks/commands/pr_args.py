"""The pull-request options of `verify`: which revisions are new, and where the base is cached."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from checks.errors import ConfigError
from checks.pullrequest import DEFAULT_FOLDER

if TYPE_CHECKING:
    from checks.project.project import Project
    from checks.pullrequest.scope import Scope


def add_pull_request_arguments(parser) -> None:
    group = parser.add_argument_group("pull requests", "judge only the revisions a change adds; the "
                                      "history below them is applied in one pass (or restored from --cache)")
    which = group.add_mutually_exclusive_group()
    which.add_argument("--since", metavar="REV", help="the new revisions are those after REV (an id or "
                       "unique prefix): REV and its ancestors are the trusted base")
    which.add_argument("--git-base", metavar="REF", help="the new revisions are the revision files added "
                       "or changed since `git merge-base REF HEAD` (e.g. origin/main)")
    group.add_argument("--cache", metavar="DIR", help="keep the migrated base database here as a pg_dump "
                       f"file and restore it next time (setting: cache_dir; e.g. {DEFAULT_FOLDER})")


@dataclass(frozen=True)
class PullRequest:
    """The pull-request options, checked: which base (one of the two), and the cache folder."""

    since: str | None
    git_base: str | None
    cache: Path | None


def pull_request_options(args, project: Project, stages: list[str]) -> PullRequest | None:
    """The options, checked before any server starts; None for a full run."""
    if not (args.since or args.git_base):
        if args.cache:
            raise ConfigError("--cache holds the base of a pull-request run; add --since REV or "
                              "--git-base REF (a full run walks every revision and needs no cache)")
        return None
    if "recovery" in stages:
        raise ConfigError("the recovery drills replay the whole history; run them without "
                          "--since/--git-base")
    folder = Path(args.cache) if args.cache else (
        project.root / project.settings.cache_dir if project.settings.cache_dir else None)
    if folder is not None and folder.exists() and not folder.is_dir():
        raise ConfigError(f"--cache {folder}: not a folder; name a folder CI keeps between runs")
    return PullRequest(args.since, args.git_base, folder)


def open_scope(options: PullRequest, project: Project) -> Scope:
    """Which revisions are new. It loads the revision files: once the run has named its
    database, so that the settings' [env] is in place for a revision that reads it on import."""
    # A full run, the usual one, imports none of the pull-request machinery.
    from checks.pullrequest.cache import BaseCache
    from checks.pullrequest.gitdiff import git_base
    from checks.pullrequest.scope import since

    scope = since(project, options.since) if options.since else git_base(project, options.git_base)
    if options.cache is not None:
        scope.cache = BaseCache(options.cache)
    return scope
