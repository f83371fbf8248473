"""Pull-request mode: judge only the revisions a change adds, on top of a trusted base.

`scope` decides which revisions are new (`--since REV`, or `--git-base REF` through
`gitdiff`, which reads git through `oldtree`: the project as a commit had it, which the
rolling and squash stages open too); `base` brings a database to the base in one pass, or restores it from
`cache`, a folder of pg_dump files keyed by what the base is made of.
"""

# Named in `verify --help`, which should not import the cache's dump and restore machinery.
DEFAULT_FOLDER = ".alembic-preflight/cache"
