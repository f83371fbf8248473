"""Running compose.test.yml through whichever compose is installed.

The `docker compose` plugin (v2) and the standalone `docker-compose` (v1) take the
same arguments for everything used here.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from harness.errors import ServerError

# At a checkout's root; an installed wheel carries it inside this package (package-data, from
# the symlink beside this module), so the compose backend works from either.
_HERE = Path(__file__).resolve().parent
COMPOSE_FILE = next((folder / "compose.test.yml" for folder in (_HERE.parent, _HERE)
                     if (folder / "compose.test.yml").is_file()), _HERE.parent / "compose.test.yml")
CANDIDATES = (("docker", "compose"), ("docker-compose",))


@functools.cache
def compose_command() -> tuple[str, ...]:
    """The compose to use: VERIFY_COMPOSE if set (e.g. "docker-compose"), else the plugin, else v1."""
    forced = os.environ.get("VERIFY_COMPOSE")
    candidates = (tuple(forced.split()),) if forced else CANDIDATES
    for cmd in candidates:
        if not shutil.which(cmd[0]):
            continue
        # `docker` exists without its compose plugin; a lone executable is enough otherwise.
        if len(cmd) == 1 or subprocess.run([*cmd, "version"], capture_output=True).returncode == 0:
            return cmd
    tried = " nor ".join(f"`{' '.join(c)}`" for c in candidates)
    raise ServerError(
        f"neither {tried} works here; install the compose plugin (docker-compose-plugin) "
        "or docker-compose, or use --backend local"
    )


def compose_file() -> Path:
    path = Path(os.environ.get("VERIFY_COMPOSE_FILE", COMPOSE_FILE))
    if not path.is_file():
        raise ServerError(f"compose file not found: {path}; set VERIFY_COMPOSE_FILE to compose.test.yml")
    return path


def run_compose(project: str, args: list[str], env: dict[str, str], timeout: float = 300,
                file: Path | None = None) -> str:
    """Run one compose command for `project` (on compose.test.yml unless `file`); ServerError
    with the output tail if it fails."""
    cmd = [*compose_command(), "-p", project, "-f", str(file or compose_file()), *args]
    try:
        proc = subprocess.run(
            cmd,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServerError(f"`{' '.join(cmd)}` did not finish within {timeout:.0f}s") from None
    if proc.returncode != 0:
        tail = "\n".join("    " + line for line in proc.stdout.strip().splitlines()[-20:])
        raise ServerError(f"`{' '.join(cmd)}` exited with {proc.returncode}:\n{tail}")
    return proc.stdout
