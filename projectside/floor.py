"""The oldest Python, SQLAlchemy and Alembic this package runs on, checked before anything
else of it is imported.

On an older stack the rest of the package cannot even be imported (its syntax is Python
3.9's; Alembic 0.9 and SQLAlchemy 1.1 fail to import on a recent Python), so the process
would end with a traceback in the project log. Instead it answers every request with one
message naming what is too old. The versions are read from the packages' sources, not by
importing them. Written for any Python a project may still have: no f-strings, no
annotations, nothing imported that Python 2.7 lacks before the version check.
"""

import json
import re
import sys

PYTHON = (3, 9)
# (name, module, oldest) of what this package imports from the project's environment.
LIBRARIES = (("SQLAlchemy", "sqlalchemy", (1, 3)), ("Alembic", "alembic", (1, 5)))
_VERSION = re.compile(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)


def _release(version):
    """The first two numbers of a version string: "1.4.0b1" -> (1, 4)."""
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def _installed(module):
    """The version a package's __init__.py declares; None when it is not installed, "" when
    its version cannot be read (then it is not held against it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    try:
        with open(spec.origin, encoding="utf-8", errors="replace") as handle:
            found = _VERSION.search(handle.read())
    except (OSError, TypeError):
        return ""
    return found.group(1) if found else ""


def too_old(python_version=None):
    """What this environment has below the floor, as phrases ("SQLAlchemy 1.1.11", "no
    Alembic"); empty when everything is new enough."""
    python_version = tuple(python_version or sys.version_info)[:2]
    found = ["Python {}.{}".format(*python_version)] if python_version < PYTHON else []
    if python_version < (3, 4):
        return found  # reason enough, and no importlib.util to look further with
    for name, module, oldest in LIBRARIES:
        version = _installed(module)
        if version is None:
            found.append("no " + name)
        elif version and _release(version) < oldest:
            found.append(name + " " + version)
    return found


def explained(found):
    needs = ", ".join(["Python {}.{}+".format(*PYTHON)] + ["{} {}.{}+".format(name, *oldest)
                                                           for name, _module, oldest in LIBRARIES])
    return ("it has {}; the suite needs {} there: upgrade them in the project's environment, or point "
            "--python (or the python setting) at the environment the project's migrations run "
            "in").format(" and ".join([", ".join(found[:-1]), found[-1]] if len(found) > 1 else found), needs)


def check():
    """Return when the stack is new enough; else answer every request with the reason until
    the suite closes the pipe, and end."""
    found = too_old()
    if not found:
        return
    answer = json.dumps({"error": {"type": "ProjectFailure", "message": explained(found)}})
    for _request in sys.stdin:
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()
    sys.exit(0)
