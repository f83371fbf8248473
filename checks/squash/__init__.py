"""Squash: one base revision in place of a long history, and the proof that it is the same schema.

`plan` chooses the revisions a squash replaces and checks that nothing above them needs
rewiring; `build` runs them on a throwaway database and `dump` reads the schema back with
pg_dump as statements, which `roles` makes independent of the role that built them;
`writer` turns them into the base revision's file; `files` moves the old files aside and
words the git lines. For `verify --squash-check` (`options`), `prove` rebuilds the history
of an old commit (`pullrequest.oldtree`) and compares it with the base through the suite's one snapshot
and one diff.
"""
