"""Who is calling: the bearer token verified, its subject re-read, its scopes and data scope.

401 when there is no usable token (missing, malformed, tampered, expired, wrong audience, or
its user / client no longer exists); 403 when the token is valid but lacks the endpoint's
scope. The data scope is the dashboard's ``Scope`` of the user (``access.scope.scope_for``)
or the client's (``Client.data_scope``), read fresh on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer, SecurityScopes

from access.scope import Scope, scope_for
from access.users import load_users
from api.clients import load_clients
from api.context import ApiContext, get_context
from api.problems import forbidden_scope, unauthorized
from api.tokens import ROLE_SCOPES, SCOPES, TokenError

# For OpenAPI (the /docs "Authorize" button); errors are ours, so auto_error is off.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/oauth/token", scopes=SCOPES, auto_error=False)


@dataclass(frozen=True)
class Principal:
    """The caller: ``user:<name>`` or ``client:<id>``, the scopes it holds now, what data it may see."""

    subject: str
    scopes: frozenset[str]
    data: Scope


def resolve(ctx: ApiContext, token: str | None) -> Principal:
    """The principal of a bearer token, or a 401 problem."""
    if not token:
        raise unauthorized("this endpoint needs a bearer token (POST /v1/oauth/token)", error="")
    try:
        claims = ctx.signer.verify(token)
    except TokenError as exc:
        raise unauthorized(str(exc)) from exc
    kind, _, name = claims.subject.partition(":")
    if kind == "user":
        user = load_users(ctx.settings.users_file).get(name)
        if user is not None:
            return Principal(claims.subject, claims.scopes & ROLE_SCOPES.get(user.role, frozenset()), scope_for(user))
    elif kind == "client":
        client = load_clients(ctx.settings.clients_file).get(name)
        if client is not None:
            return Principal(claims.subject, claims.scopes & frozenset(client.scopes), client.data_scope())
    raise unauthorized("the token's account no longer exists")


def current_principal(security_scopes: SecurityScopes, ctx: Annotated[ApiContext, Depends(get_context)],
                      token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    """Dependency: the caller, holding every scope the endpoint declares (``Security(..., scopes=[...])``)."""
    principal = resolve(ctx, token)
    ctx.limits.client_request(principal.subject)  # 429 over API_RATE_LIMIT, before the scope check
    for needed in security_scopes.scopes:
        if needed not in principal.scopes:
            raise forbidden_scope(needed)
    return principal
