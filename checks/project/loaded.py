"""Which of the project's own modules this process has imported so far.

Alembic loads env.py and the revision files outside `sys.modules`; what they import from
the project itself (an app's settings, its enums, its models) lands there. Two things
depend on it: a worker forked after such an import would share settings an app read once
(checks.parallel.segments), and a cached base database is only as current as the modules
its revisions imported (checks.pullrequest.cache).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_SUITE = Path(__file__).resolve().parents[2]
_OURS = (_SUITE / "checks", _SUITE / "harness")


def project_module_files(project) -> list[Path]:
    """The files of the project's modules in `sys.modules`, sorted; installed packages
    (a virtualenv inside the project included) and the suite's own modules are not the
    project's."""
    roots = [Path(project.root).resolve(), *(Path(p).resolve() for p in project.env.paths)]
    judged: dict[str, bool] = {}  # by folder: modules share a few hundred of them at most
    found: set[Path] = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path or "site-packages" in path or "dist-packages" in path:
            continue
        folder = os.path.dirname(path)
        if folder not in judged:
            resolved = Path(folder).resolve()
            judged[folder] = (not any(resolved.is_relative_to(own) for own in _OURS)
                              and any(resolved.is_relative_to(root) for root in roots))
        if judged[folder]:
            found.add(Path(path).resolve())
    return sorted(found)
