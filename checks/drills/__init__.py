"""Recovery drills: each breaks a throwaway database the way real ones break, runs the
documented fix with the recovery tasks' own functions, and checks nothing was lost.

One module per drill, each with `drill(run) -> list[Finding]`; a passing drill returns
one info finding saying what it proved.
"""

from checks.drills import (
    backup_restore,
    behind,
    failed_migration,
    history_under_data,
    startup,
    unknown_revision,
)

DRILLS = {
    unknown_revision.NAME: unknown_revision.drill,
    behind.NAME: behind.drill,
    backup_restore.NAME: backup_restore.drill,
    history_under_data.NAME: history_under_data.drill,
    failed_migration.NAME: failed_migration.drill,
    startup.NAME: startup.drill,
}
