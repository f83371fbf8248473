"""The image builder takes its Debian mirror from apt's configuration, never a built-in host."""

from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.images.mirror import debian_mirrors


@pytest.fixture
def apt_root(tmp_path, monkeypatch):
    monkeypatch.delenv("VERIFY_DEBIAN_MIRROR", raising=False)
    monkeypatch.delenv("VERIFY_DEBIAN_SECURITY_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_deb822_sources_give_archive_and_security(apt_root):
    (apt_root / "sources.list.d/debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.test/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\n"
        "Types: deb\nURIs: http://mirror.test/debian-security\nSuites: bookworm-security\nComponents: main\n"
    )
    mirrors = debian_mirrors(apt_root)
    assert mirrors.archive == "http://mirror.test/debian"
    assert mirrors.security == "http://mirror.test/debian-security"


def test_one_line_sources_with_options_and_vendor_repositories(apt_root):
    (apt_root / "sources.list").write_text(
        "# deb http://commented.test/debian bookworm main\n"
        "deb-src http://src.test/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://vendor.test/apt nodistro main\n"
        "deb [ signed-by=/k.gpg ] http://mirror.test/debian trixie main\n"
    )
    mirrors = debian_mirrors(apt_root)
    assert mirrors.archive == "http://mirror.test/debian"
    assert mirrors.security is None


def test_disabled_files_and_sources_are_ignored(apt_root):
    disabled = "deb http://disabled.test/debian bookworm main\n"
    (apt_root / "sources.list.d/old.list.disabled").write_text(disabled)
    (apt_root / "sources.list.d/off.sources").write_text(
        "Enabled: no\nTypes: deb\nURIs: http://off.test/debian\nSuites: bookworm\n"
    )
    with pytest.raises(HarnessError, match="VERIFY_DEBIAN_MIRROR"):
        debian_mirrors(apt_root)


def test_environment_overrides_apt(apt_root, monkeypatch):
    (apt_root / "sources.list").write_text("deb http://mirror.test/debian bookworm main\n")
    monkeypatch.setenv("VERIFY_DEBIAN_MIRROR", "http://override.test/debian/")
    assert debian_mirrors(apt_root).archive == "http://override.test/debian"
