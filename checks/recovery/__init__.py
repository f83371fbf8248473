"""Recovery on a developer's own database: which one, a backup of it, and the safety rules.

Plain functions over a `Target` (a URL), shared by the `python -m checks` commands behind
the invoke tasks and by the recovery drills, so every documented step is the tested one.
"""
