"""Secrets on disk are mode 600 from the moment they exist; readers never fall back to the operator token."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path

import pytest

from access.users import User, hash_password, save_users
from settings.errors import ConfigError
from settings.stack import REPO_ROOT, StackSettings

_spec = importlib.util.spec_from_file_location("check_ready", REPO_ROOT / "services" / "check_ready.py")
check_ready = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_ready)


@pytest.fixture
def open_umask():
    """The most permissive umask: a file is private only because its writer made it so."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _fdopen_checking_mode(real, seen: list[int]):
    def fdopen(fd, *args, **kwargs):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))  # the mode before the first byte is written
        return real(fd, *args, **kwargs)
    return fdopen


def test_influx_credentials_file_is_600_before_the_tokens_are_written(tmp_path: Path, open_umask, monkeypatch) -> None:
    target = tmp_path / "influxdb" / "credentials.env"
    target.parent.mkdir()
    target.write_text("OLD=1\n")
    target.chmod(0o644)  # an older, too open file is replaced, not written into
    seen: list[int] = []
    monkeypatch.setattr(check_ready.os, "fdopen", _fdopen_checking_mode(os.fdopen, seen))
    check_ready.write_secret_file(target, "INFLUX_TOKEN=secret\n")
    assert seen == [0o600]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "INFLUX_TOKEN=secret\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["credentials.env"]


def test_a_failed_secret_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "credentials.env"
    target.write_text("OLD=1\n")

    def broken_fdopen(fd, *args, **kwargs):
        os.close(fd)
        raise OSError("disk full")

    monkeypatch.setattr(check_ready.os, "fdopen", broken_fdopen)
    with pytest.raises(OSError, match="disk full"):
        check_ready.write_secret_file(target, "INFLUX_TOKEN=secret\n")
    assert target.read_text() == "OLD=1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["credentials.env"]


def test_dashboard_users_file_is_600_before_the_hashes_are_written(tmp_path: Path, open_umask, monkeypatch) -> None:
    import access.users as users

    seen: list[int] = []
    monkeypatch.setattr(users.os, "fdopen", _fdopen_checking_mode(os.fdopen, seen))
    path = tmp_path / "users.json"
    save_users(path, {"a": User("a", "admin", hash_password("long-enough-pw", 4))})
    assert seen == [0o600]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_reader_token_is_the_read_only_one() -> None:
    s = StackSettings(influx_token="operator", influx_read_token="reader")
    assert s.reader_token() == "reader"
    assert s.reader_token(allow_operator_token=True) == "reader"


def test_reader_token_never_falls_back_to_the_operator_token() -> None:
    s = StackSettings(influx_token="operator", influx_read_token="")
    with pytest.raises(ConfigError, match="INFLUX_READ_TOKEN is not set"):
        s.reader_token()
    assert s.reader_token(allow_operator_token=True) == "operator"  # the explicit development switch
    with pytest.raises(ConfigError, match="INFLUX_READ_TOKEN"):
        StackSettings(influx_token="", influx_read_token="").reader_token(allow_operator_token=True)
