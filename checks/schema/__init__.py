"""The schema of a database as one comparable value, and the differences between two."""

from checks.schema.diff import diff_snapshots, schema_differences
from checks.schema.report import SchemaDifference
from checks.schema.snapshot import Snapshot, take_snapshot

__all__ = ["SchemaDifference", "Snapshot", "diff_snapshots", "schema_differences", "take_snapshot"]
