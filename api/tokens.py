"""OAuth scopes, which role or client may hold which, and the JWT access tokens (HS256, PyJWT).

An access token carries ``sub`` (``user:<name>`` or ``client:<id>``), ``scope`` (space
separated, RFC 8693 / RFC 9068 style), ``aud``, ``iss``, ``iat``, ``exp`` and ``jti``. It does
not carry the data scope: that is read from the user store / client file on every request, so
removing a user or narrowing their fleets takes effect before the token expires.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"

SCOPES: dict[str, str] = {
    "fleet:read": "vehicles, positions, telemetry, alerts and trips in the token's data scope",
    "fleet:write": "changes to vehicles (active, speed limit) and geofences in the token's data scope",
    "crypto:read": "symbols and spreads",
    "wallet:read": "wallets (declared; no wallet endpoint yet)",
    "wallet:write": "wallet changes (declared; no wallet endpoint yet)",
    "admin": "administration: device credentials (MQTT passwords)",
}

# What each dashboard role may be granted: the same data the dashboard shows it, as scopes.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPES),
    "fleet_manager": frozenset({"fleet:read", "fleet:write"}),
    "viewer": frozenset({"fleet:read"}),
    "parent": frozenset({"fleet:read"}),
    "trader": frozenset({"crypto:read", "wallet:read", "wallet:write"}),
}


class TokenError(ValueError):
    """A token that is malformed, tampered with, expired, or for another audience / issuer."""


def parse_scope(text: str | None) -> frozenset[str]:
    """``"a b"`` -> {a, b}; unknown names raise (the token endpoint answers invalid_scope)."""
    names = frozenset((text or "").split())
    unknown = sorted(names - SCOPES.keys())
    if unknown:
        raise ValueError(f"unknown scope {', '.join(unknown)}")
    return names


def grant(requested: frozenset[str], allowed: frozenset[str]) -> frozenset[str]:
    """The scopes to grant: all allowed when none were asked for; asking for more than allowed raises."""
    if not requested:
        return allowed
    extra = sorted(requested - allowed)
    if extra:
        raise ValueError(f"not allowed for this account: {', '.join(extra)}")
    return requested


def scope_text(scopes: Iterable[str]) -> str:
    return " ".join(sorted(scopes))


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says."""

    subject: str
    scopes: frozenset[str]
    expires_at: int
    token_id: str


@dataclass(frozen=True)
class TokenSigner:
    """Issues and verifies access tokens for one key, issuer and audience."""

    key: bytes
    issuer: str
    audience: str
    ttl_s: int

    def issue(self, subject: str, scopes: Iterable[str], now: float | None = None) -> tuple[str, int]:
        """(JWT, expires_in seconds)."""
        iat = int(time.time() if now is None else now)
        claims = {"sub": subject, "scope": scope_text(scopes), "aud": self.audience, "iss": self.issuer,
                  "iat": iat, "exp": iat + self.ttl_s, "jti": secrets.token_urlsafe(12)}
        return jwt.encode(claims, self.key, algorithm=ALGORITHM), self.ttl_s

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid token; TokenError naming what is wrong otherwise."""
        try:
            claims = jwt.decode(token, self.key, algorithms=[ALGORITHM], audience=self.audience, issuer=self.issuer,
                                options={"require": ["sub", "scope", "aud", "iss", "exp", "iat", "jti"]})
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("the access token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"the access token is invalid ({exc})") from exc
        return AccessClaims(subject=str(claims["sub"]), scopes=frozenset(str(claims["scope"]).split()),
                            expires_at=int(claims["exp"]), token_id=str(claims["jti"]))
