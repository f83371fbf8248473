"""One version, written once (pyproject.toml), printed by `--version` and carried by every
report, so a finding in a CI log can be matched with the release that made it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET

from cli_support import EXAMPLE, ROOT, run_cli

from checks import version

PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_version_is_pyprojects():
    assert version.VERSION == PYPROJECT_VERSION


def test_a_checkout_without_metadata_reads_pyproject(monkeypatch):
    def not_installed(name):
        raise version.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(version.metadata, "version", not_installed)
    assert version._version() == PYPROJECT_VERSION


def test_an_installed_copy_reads_its_metadata(monkeypatch, tmp_path):
    monkeypatch.setattr(version, "_PYPROJECT", tmp_path / "pyproject.toml")  # none beside an install
    monkeypatch.setattr(version.metadata, "version", lambda name: "9.9.9")
    assert version._version() == "9.9.9"


def test_version_option_prints_it():
    proc = subprocess.run([sys.executable, "-m", "checks", "--version"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"alembic-preflight {PYPROJECT_VERSION}"


def test_every_report_carries_it(tmp_path):
    """The serverless stages are enough: the version is written however far a run gets."""
    junit, html = tmp_path / "junit.xml", tmp_path / "report.html"
    result = run_cli("verify", "--project", str(EXAMPLE), "--backend", "none", "--stage", "files",
                     "--stage", "heads", "--report-junit", str(junit), "--report-html", str(html),
                     report=tmp_path / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    assert result.report["alembic_preflight"] == PYPROJECT_VERSION
    properties = {p.get("name"): p.get("value") for p in ET.parse(junit).iter("property")}
    assert properties["alembic-preflight"] == PYPROJECT_VERSION
    assert f"alembic-preflight {PYPROJECT_VERSION}</footer>" in html.read_text()
