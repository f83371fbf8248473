"""Running one image build step: in a clean environment, and saying why it failed.

The host's environment stops here. Inside the chroot, a host TMPDIR (or any other host
path) names a folder that does not exist, and apt, dpkg and debconf fail on it; so every
step gets the few variables a build needs and nothing else. Proxies pass through only
when set, for hosts that reach their mirror through one.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from harness.errors import HarnessError

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
TAIL_LINES = 25

# apt's "E:", dpkg's "dpkg: error", debootstrap's "W: Failure", and a plain "failed" or "fatal".
_ERROR = re.compile(r"^[EF]: |\b(errors?|fail(ed|ure)?|fatal|cannot|unable)\b", re.IGNORECASE)
# Progress lines that may name a package or file with such a word in it (libgpg-error0).
_PROGRESS = ("Get:", "Hit:", "Ign:", "I: ", "Unpacking ", "Setting up ", "Selecting ",
             "Preparing to unpack ", "Processing triggers ", "Removing ", "Purging ")


def build_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a build step: never the caller's, except proxies it has set."""
    environ = os.environ if environ is None else environ
    env = {"PATH": DEFAULT_PATH, "HOME": "/root", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
    env.update({name: environ[name] for name in PROXY_VARIABLES if environ.get(name)})
    return env


def first_error(output: str) -> str | None:
    """The first line of a step's output that reads like the cause of its failure."""
    for line in output.splitlines():
        if not line.startswith(_PROGRESS) and _ERROR.search(line):
            return line.strip()
    return None


def summarize_failure(output: str) -> str:
    """The first error line (usually the cause), then the tail (usually the consequence)."""
    lines = output.splitlines()
    tail = "\n".join("    " + line for line in lines[-TAIL_LINES:]) or "    (no output)"
    cause = first_error(output)
    head = f"  first error: {cause}\n" if cause else ""
    return f"{head}  output (last {min(len(lines), TAIL_LINES)} lines):\n{tail}"


def run_step(cmd: list[str], what: str, hint: str = "") -> str:
    """Run one build step in the clean environment; its output, or a HarnessError saying why not."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                          env=build_environment())
    if proc.returncode != 0:
        raise HarnessError(
            f"could not {what}: `{' '.join(cmd)}` exited with {proc.returncode}"
            + (f" ({hint})" if hint else "")
            + "\n" + summarize_failure(proc.stdout)
        )
    return proc.stdout


def run_in_chroot(root: Path, cmd: list[str], what: str) -> str:
    """Run `cmd` inside the debootstrapped `root`, with the clean environment."""
    return run_step(["chroot", str(root), *cmd], what)
