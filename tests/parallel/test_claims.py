"""Claims: a stage either process may run is run by exactly one, however close the race."""

from __future__ import annotations

import os

from checks.parallel.segments import Claims

RACERS = 4
ROUNDS = 50


def _race(claims: Claims, name: str, go: int) -> list[int]:
    """RACERS forked processes claim `name` the moment a byte arrives on `go`: their pids that won."""
    pids = []
    for _ in range(RACERS):
        pid = os.fork()
        if pid == 0:
            os.read(go, 1)
            os._exit(0 if claims.claim(name) else 1)
        pids.append(pid)
    return pids


def test_only_one_of_many_processes_claiming_at_once_gets_a_stage():
    for _ in range(ROUNDS):
        claims = Claims(("lint", "files"))
        start_read, start_write = os.pipe()
        pids = _race(claims, "lint", start_read)
        os.write(start_write, b"." * RACERS)  # all released together
        winners = [pid for pid in pids if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0]
        os.close(start_read)
        os.close(start_write)
        assert len(winners) == 1
        assert not claims.claim("lint")  # taken: nobody gets it twice
        assert claims.claim("files")  # the other stage is still there, once
        assert not claims.claim("files")
        claims.remove()


def test_a_stage_not_offered_cannot_be_claimed():
    claims = Claims(("lint",))
    assert not claims.claim("drift")
    claims.remove()
    assert not claims.claim("lint")  # removed: nothing left to claim
