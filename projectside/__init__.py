"""The part of the suite that runs in the project's own interpreter.

Everything that imports the project's code (env.py, the revision files, the models, the
app factory, and Alembic and SQLAlchemy as the project has them installed) runs here, in a
process started with the project's Python, in the context the project's own migration
command gives. The suite talks to it over a pipe (`checks.project.agent`) and keeps to
its own process everything else: servers, catalog snapshots and diffs, lint parsing,
reports.

Rules for this package, because it runs on interpreters and libraries the suite does not
choose: the standard library and what the project already has (Alembic 1.5+, SQLAlchemy
1.3+, its driver) only; Python 3.9 syntax (but `floor`, which checks those versions first,
for any Python); no import of anything else of the suite's. It
is copied into a private folder at start, so nothing is ever installed into the project's
environment.
"""
