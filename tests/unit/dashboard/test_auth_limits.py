"""The shared sign-in failure counter: per name, per client, window, lockout, across processes."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
from pathlib import Path

from access.auth_limits import SignInLimiter, SignInLimits

LIMITS = SignInLimits(max_per_user=5, max_per_client=20, window_s=900.0, lockout_s=300.0)
T0 = 1_800_000_000.0


def limiter(tmp_path: Path, limits: SignInLimits = LIMITS) -> SignInLimiter:
    return SignInLimiter(tmp_path / "var" / "sign-in.sqlite", limits)


def test_five_failures_for_a_name_lock_it_for_the_lockout(tmp_path: Path) -> None:
    lim = limiter(tmp_path)
    waits = [lim.record_failure("alice", f"10.0.0.{i}", now=T0 + i) for i in range(5)]
    assert waits == [0.0, 0.0, 0.0, 0.0, 300.0]  # from five different clients: the name counts
    assert lim.locked_for("alice", "10.0.0.99", now=T0 + 10) == 294.0  # locked at T0 + 4
    assert lim.locked_for("bob", "10.0.0.99", now=T0 + 10) == 0.0
    assert lim.locked_for("alice", "10.0.0.99", now=T0 + 4 + 300) == 0.0  # lockout over


def test_unknown_and_known_names_are_counted_alike(tmp_path: Path) -> None:
    lim = limiter(tmp_path)
    for name in ("admin", "no-such-user"):
        assert [lim.record_failure(name, "c", now=T0) > 0 for _ in range(5)] == [False] * 4 + [True]
        lim.record_success("x")  # another name's success changes nothing
    assert lim.locked_for("admin", "other", now=T0) == lim.locked_for("no-such-user", "other", now=T0) == 300.0


def test_failures_outside_the_window_do_not_count(tmp_path: Path) -> None:
    lim = limiter(tmp_path)
    for i in range(4):
        lim.record_failure("alice", "c", now=T0 + i)
    assert lim.record_failure("alice", "c", now=T0 + 901) == 0.0  # the first four expired
    assert lim.record_failure("alice", "c", now=T0 + 902) == 0.0
    assert [lim.record_failure("alice", "c", now=T0 + 903 + i) for i in range(3)] == [0.0, 0.0, 300.0]


def test_many_names_from_one_client_lock_the_client(tmp_path: Path) -> None:
    lim = limiter(tmp_path, SignInLimits(max_per_user=5, max_per_client=3, window_s=900.0, lockout_s=60.0))
    assert [lim.record_failure(f"user{i}", "203.0.113.7", now=T0) for i in range(3)] == [0.0, 0.0, 60.0]
    assert lim.locked_for("someone-else", "203.0.113.7", now=T0 + 1) == 59.0
    assert lim.locked_for("someone-else", "203.0.113.8", now=T0 + 1) == 0.0


def test_success_clears_the_name_but_not_the_client(tmp_path: Path) -> None:
    lim = limiter(tmp_path, SignInLimits(max_per_user=3, max_per_client=4, window_s=900.0, lockout_s=60.0))
    lim.record_failure("victim", "c", now=T0)
    lim.record_failure("victim", "c", now=T0)
    lim.record_success("victim")
    assert lim.record_failure("victim", "c", now=T0) == 0.0  # name count restarted at 1
    assert lim.record_failure("victim", "c", now=T0) == 60.0  # client count reached 4


def test_names_are_stored_as_digests_and_the_file_is_mode_600(tmp_path: Path) -> None:
    lim = limiter(tmp_path)
    old = os.umask(0)
    try:
        lim.record_failure("my-password-typed-as-name", "198.51.100.1", now=T0)
    finally:
        os.umask(old)
    assert stat.S_IMODE(lim.path.stat().st_mode) == 0o600
    with sqlite3.connect(lim.path) as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM failures")]
    assert len(keys) == 2 and all(":" in k and len(k.split(":")[1]) == 64 for k in keys)
    assert b"my-password-typed-as-name" not in lim.path.read_bytes()


def _fail(path: str, n: int) -> None:
    lim = SignInLimiter(Path(path), SignInLimits(max_per_user=1000, max_per_client=1000, window_s=900.0, lockout_s=60.0))
    for _ in range(n):
        lim.record_failure("shared-name", "shared-client", now=T0)


def test_processes_share_one_count(tmp_path: Path) -> None:
    """Four processes x 50 failures: exactly 200 counted; a fifth limiter then sees the lock."""
    path = tmp_path / "shared.sqlite"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_fail, args=(str(path), 50)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM failures").fetchone() == (400,)  # 200 per name + 200 per client
    lim = SignInLimiter(path, SignInLimits(max_per_user=201, max_per_client=1000, window_s=900.0, lockout_s=60.0))
    assert lim.record_failure("shared-name", "another-client", now=T0) == 60.0
