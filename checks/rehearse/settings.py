"""The rehearse stage's settings, checked when the settings are read (a typo fails every
run, not only the one that rehearses), and what they add up to for a run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from checks.errors import ConfigError
from checks.rehearse import volumes as volume_files
from checks.rehearse.volumes import Volumes

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?\s*", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3, "tb": 1024 ** 4}


def size_bytes(value, where: str) -> int:
    """A size: a whole number of bytes, or a string such as "2GB", "500MB"."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    found = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if found is None or float(found.group(1)) <= 0:
        raise ConfigError(f"{where} must be a size such as \"2GB\" or \"500MB\" (or a number of bytes), "
                          f"not {value!r}")
    return int(float(found.group(1)) * _UNITS[(found.group(2) or "b").lower()])


def _positive(data: dict, key: str, source: str, unit: str) -> None:
    value = data.get(key)
    if key in data and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
        raise ConfigError(f"{source}: {key} must be a number of {unit} above 0 (no quotes), e.g. "
                          f"{key} = {120 if unit == 'seconds' else 1000}")


def validate(data: dict, source: str) -> None:
    """Every rehearse setting in `data` (a settings table) well formed, or a ConfigError."""
    if "volumes" in data:
        volume_files.parse(data["volumes"], source)
    _positive(data, "rehearse_budget", source, "seconds")
    _positive(data, "max_lock_ms", source, "milliseconds")
    if "rehearse_disk" in data:
        size_bytes(data["rehearse_disk"], f"{source}: rehearse_disk")


@dataclass
class Plan:
    """What one rehearsal may do: the volumes to estimate for and its limits."""

    volumes: Volumes
    budget_s: float
    disk_bytes: int
    max_lock_ms: float


def plan(settings, project_root: Path) -> Plan:
    """The `volumes` setting's entries win over the volumes file's (a path relative to the
    project; --volumes sets it absolute)."""
    source = settings.source
    declared = volume_files.parse(settings.volumes, source) if settings.volumes else Volumes()
    if settings.volumes_file:
        read = volume_files.read(project_root / settings.volumes_file)
        declared = read.merged(declared) if settings.volumes else read
    return Plan(declared, float(settings.rehearse_budget),
                size_bytes(settings.rehearse_disk, f"{source}: rehearse_disk"), float(settings.max_lock_ms))
