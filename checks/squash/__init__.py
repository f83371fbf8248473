"""Squash: one base revision in place of a long history, and the proof that it is the same schema.

`plan` chooses the revisions a squash replaces and checks that nothing above them needs
rewiring; `dump` reads the schema the history builds back from PostgreSQL (pg_dump) as
statements; `writer` turns them into the base revision's file; `files` moves the old
files aside; `prove` rebuilds the old history from git and compares it with the base
through the suite's one snapshot and diff.
"""
