"""`alembic upgrade heads` as an application instance runs it when it starts: the path is
worked out inside env.py's run, after whatever lock env.py takes. The startup drill runs
several at once, each in a process of its own."""

from __future__ import annotations

import time

from .run import capture_configure


def upgrade_heads(script, cfg, linger_s: float) -> None:
    """Upgrade to heads through env.py over `script` (the revisions as the suite resolved
    them), holding the first revision applied uncommitted for `linger_s`: long enough that
    every other instance, started together, has begun its own upgrade by then."""
    from alembic.runtime.environment import EnvironmentContext

    paused = []

    def linger(**_kwargs) -> None:
        if not paused:
            paused.append(True)
            time.sleep(linger_s)

    def upgrade(rev, _context):
        return script._upgrade_revs("heads", rev)

    with EnvironmentContext(cfg, script, fn=upgrade, as_sql=False, destination_rev="heads"), \
            capture_configure(lambda _options: None, linger, False):
        script.run_env()
