"""Containers of a Debian suite's own python3: bookworm's, for running the README's set-up as a
stranger would; bullseye's (Python 3.9), for the oldest project stack the suite supports.

Built from Debian's packages through the host's apt configuration (nothing can be pulled),
with the same debootstrap and import steps as the PostgreSQL images, then cached under a
tag that names the recipe: built once (a few minutes), reused until the recipe changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from harness.docker_engine import image_present
from harness.images.build import build_root, chroot_run, debootstrap, import_root
from harness.images.mirror import debian_mirrors

SUITE = "bookworm"
REPOSITORY = "alembic-preflight/setup-test"
# What the README assumes a fresh machine has: python3 with venv (Debian splits it off).
PROVISION = """set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /etc/resolv.conf
python3 --version
"""
CHANGES = ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ENV LANG=C.UTF-8",
           'LABEL io.alembic-preflight.image="1"', 'CMD ["/bin/bash"]']


def image_tag(suite: str = SUITE) -> str:
    recipe = "\n".join([suite, PROVISION, *CHANGES])
    return f"{REPOSITORY}:{suite}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def setup_image(suite: str = SUITE) -> str:
    """The image's name, built first if this machine has none (needs root and debootstrap)."""
    name = image_tag(suite)
    if image_present(name):
        return name
    with build_root("alembic-preflight-setup-") as root:
        debootstrap(suite, root, debian_mirrors())
        (root / "tmp/provision.sh").write_text(PROVISION)
        chroot_run(root, ["/bin/sh", "/tmp/provision.sh"], "install python3 and python3-venv")
        repository, tag = name.split(":")
        import_root(root, repository, tag, CHANGES)
    return name


def pip_settings() -> tuple[dict[str, str], list[Path]]:
    """The host's pip configuration as environment variables, and the files those name.

    The container reaches the package index the way pip on this host does: same index,
    find-links, certificate bundle and proxies. Nothing is written into the project.
    """
    env = {k: v for k, v in os.environ.items()
           if k.startswith("PIP_") or k.lower() in ("http_proxy", "https_proxy", "no_proxy")}
    listed = subprocess.run(["python3", "-m", "pip", "config", "list"], capture_output=True, text=True)
    for line in listed.stdout.splitlines():
        key, _, value = line.partition("=")
        section, _, option = key.partition(".")
        if section in ("global", "install", "download") and option:
            env.setdefault("PIP_" + option.upper().replace("-", "_"), value.strip().strip("'\""))
    paths = []
    for value in env.values():
        for part in value.split():
            if part.startswith("/") and Path(part).exists():
                paths.append(Path(part))
    return env, paths
