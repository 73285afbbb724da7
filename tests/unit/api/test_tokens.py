"""Access tokens, scopes, the signing key file, refresh token rotation and clients - without HTTP."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import jwt
import pytest

from api.clients import ClientsFileError, load_clients, new_client, save_clients
from api.keys import load_or_create_key
from api.refresh import RefreshError, RefreshStore
from api.tokens import ROLE_SCOPES, SCOPES, TokenError, TokenSigner, grant, parse_scope
from settings.errors import ConfigError

KEY = b"k" * 64


def signer(ttl_s: int = 600, key: bytes = KEY, audience: str = "ticktrack-api") -> TokenSigner:
    return TokenSigner(key, "ticktrack", audience, ttl_s)


def test_a_token_carries_subject_scopes_audience_and_expiry() -> None:
    token, expires_in = signer().issue("user:alice", {"fleet:read", "crypto:read"}, now=time.time())
    claims = jwt.decode(token, KEY, algorithms=["HS256"], audience="ticktrack-api")
    assert (claims["sub"], claims["scope"], claims["aud"], claims["iss"]) == ("user:alice", "crypto:read fleet:read", "ticktrack-api", "ticktrack")
    assert claims["exp"] - claims["iat"] == expires_in == 600
    verified = signer().verify(token)
    assert (verified.subject, verified.scopes) == ("user:alice", frozenset({"fleet:read", "crypto:read"}))


def test_expired_tampered_foreign_and_unsigned_tokens_are_refused() -> None:
    expired, _ = signer(ttl_s=30).issue("user:a", {"fleet:read"}, now=time.time() - 31)
    with pytest.raises(TokenError, match="expired"):
        signer().verify(expired)
    good, _ = signer().issue("user:a", {"fleet:read"})
    head, body, sig = good.split(".")
    forged_body = jwt.utils.base64url_encode(jwt.utils.base64url_decode(body).replace(b"fleet:read", b"admin")).decode()
    with pytest.raises(TokenError, match="invalid"):
        signer().verify(f"{head}.{forged_body}.{sig}")
    with pytest.raises(TokenError, match="invalid"):
        signer().verify(good[:-2] + ("AA" if not good.endswith("AA") else "BB"))
    with pytest.raises(TokenError, match="invalid"):
        signer(key=b"x" * 64).verify(good)  # another key
    with pytest.raises(TokenError, match="invalid"):
        signer(audience="other").verify(good)
    unsigned = jwt.encode({"sub": "user:a", "scope": "admin", "aud": "ticktrack-api", "iss": "ticktrack", "iat": 1,
                           "exp": int(time.time()) + 60, "jti": "x"}, "", algorithm="none")
    with pytest.raises(TokenError, match="invalid"):
        signer().verify(unsigned)


def test_scopes_are_known_names_and_never_more_than_allowed() -> None:
    assert parse_scope("fleet:read  crypto:read") == {"fleet:read", "crypto:read"}
    assert parse_scope(None) == frozenset()
    with pytest.raises(ValueError, match="unknown scope fleet:delete"):
        parse_scope("fleet:read fleet:delete")
    assert grant(frozenset(), ROLE_SCOPES["parent"]) == {"fleet:read"}
    assert grant(frozenset({"fleet:read"}), ROLE_SCOPES["admin"]) == {"fleet:read"}
    with pytest.raises(ValueError, match="crypto:read"):
        grant(frozenset({"crypto:read"}), ROLE_SCOPES["parent"])
    assert set(SCOPES) == {"fleet:read", "fleet:write", "crypto:read", "wallet:read", "wallet:write", "admin"}
    assert ROLE_SCOPES["trader"] & {"fleet:read", "fleet:write"} == set()


def test_signing_key_is_made_once_mode_600_and_refused_when_others_may_read_it(tmp_path: Path) -> None:
    path = tmp_path / "var" / "key"
    key = load_or_create_key(path)
    assert len(key) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key  # the second start reads the same key
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match=f"{path}.*readable by others"):
        load_or_create_key(path)
    os.chmod(path, 0o600)
    path.write_text("short\n")
    with pytest.raises(ConfigError, match="at least 64 hex digits"):
        load_or_create_key(path)


def test_refresh_tokens_rotate_and_a_reused_one_revokes_its_family(tmp_path: Path) -> None:
    store = RefreshStore(tmp_path / "r.sqlite", ttl_s=3600)
    first = store.issue("user:a", frozenset({"fleet:read"}))
    grant1, second = store.rotate(first)
    assert (grant1.subject, grant1.scopes) == ("user:a", frozenset({"fleet:read"}))
    with pytest.raises(RefreshError, match="already used"):
        store.rotate(first)  # replayed: the family ends ...
    with pytest.raises(RefreshError, match="already used"):
        store.rotate(second)  # ... so the successor is revoked too
    third = store.issue("user:a", frozenset({"fleet:read"}))
    assert store.revoke(third) is True and store.revoke("unknown") is False
    with pytest.raises(RefreshError):
        store.rotate(third)
    old = store.issue("user:b", frozenset(), now=time.time() - 3601)
    with pytest.raises(RefreshError, match="expired"):
        store.rotate(old)
    live = [store.issue("user:c", frozenset()) for _ in range(3)]
    assert store.revoke_subject("user:c") == 3
    with pytest.raises(RefreshError):
        store.rotate(live[0])
    assert stat.S_IMODE((tmp_path / "r.sqlite").stat().st_mode) == 0o600


def test_clients_keep_only_a_hash_and_their_data_scope(tmp_path: Path) -> None:
    client, secret = new_client("erp", "fleet", ["fleet:read"], ["fa", "fb"])
    path = tmp_path / "clients.json"
    save_clients(path, {client.client_id: client})
    text = path.read_text()
    assert secret not in text and client.secret_sha256 in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_clients(path)[client.client_id]
    assert loaded == client and loaded.secret_matches(secret) and not loaded.secret_matches(secret + "x")
    assert loaded.data_scope().fleets == {"fa", "fb"} and not loaded.data_scope().all_fleets
    assert new_client("bot", "trader", ["crypto:read"], [])[0].data_scope().prices
    for bad in (("x", "fleet", ["fleet:read"], []), ("x", "trader", ["fleet:read"], []), ("x", "vehicle", ["admin"], ["v"]),
                ("x", "nobody", ["fleet:read"], ["f"]), ("", "all", ["admin"], []), ("x", "fleet", [], ["f"])):
        with pytest.raises(ClientsFileError):
            new_client(*bad)


def test_users_file_given_by_name_is_used(tmp_path: Path) -> None:
    """The alias (DASHBOARD_USERS_FILE) must not hide the field: tests pass their own file."""
    from api.config import ApiSettings
    assert ApiSettings(users_file=tmp_path / "u.json").users_file == tmp_path / "u.json"
