"""``POST /v1/oauth/token`` (RFC 6749: password, client_credentials, refresh_token) and ``/v1/oauth/revoke`` (RFC 7009).

Failed password and client-secret attempts are counted per user name / client id and per
peer address in one sqlite file shared by every worker (``access.auth_limits``, the
dashboard's limiter); a locked name, client or peer gets 429 without any check at all.
Refresh tokens are 256-bit random values and are not counted (nothing to guess).
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from access.users import load_users, verify
from api.clients import Client, load_clients
from api.context import ApiContext, get_context
from api.problems import Problem, oauth_error
from api.refresh import RefreshError
from api.tokens import ROLE_SCOPES, grant, parse_scope, scope_text

router = APIRouter(prefix="/oauth", tags=["oauth"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANTS = ("password", "client_credentials", "refresh_token")


class TokenResponse(BaseModel):
    """RFC 6749 section 5.1."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str
    refresh_token: str | None = None


def _peer(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _locked(ctx: ApiContext, name: str, peer: str) -> None:
    wait_s = ctx.limiter.locked_for(name, peer)
    if wait_s > 0:
        raise Problem(429, "too-many-attempts", f"too many failed attempts; try again in {math.ceil(wait_s)} s",
                      headers={"Retry-After": str(math.ceil(wait_s))})


def _failed(ctx: ApiContext, name: str, peer: str, problem: Problem) -> Problem:
    """Count the failure; a failure that locks answers 429 at once."""
    if ctx.limiter.record_failure(name, peer) > 0:
        _locked(ctx, name, peer)
    return problem


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """client_id, client_secret from ``Authorization: Basic`` (RFC 6749 section 2.3.1), if present."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise oauth_error(401, "invalid_client", "malformed Basic credentials",
                          headers={"WWW-Authenticate": 'Basic realm="ticktrack"'}) from exc
    client_id, sep, secret = raw.partition(":")
    if not sep:
        raise oauth_error(401, "invalid_client", "malformed Basic credentials", headers={"WWW-Authenticate": 'Basic realm="ticktrack"'})
    return client_id, secret


def _issue(ctx: ApiContext, subject: str, scopes: frozenset[str], refresh: str | None) -> JSONResponse:
    access, expires_in = ctx.signer.issue(subject, scopes)
    body = TokenResponse(access_token=access, expires_in=expires_in, scope=scope_text(scopes), refresh_token=refresh)
    return JSONResponse(body.model_dump(exclude_none=True), headers=NO_STORE)


def _requested(scope: str | None) -> frozenset[str]:
    try:
        return parse_scope(scope)
    except ValueError as exc:
        raise oauth_error(400, "invalid_scope", str(exc)) from exc


def _password(ctx: ApiContext, request: Request, username: str | None, password: str | None, scope: str | None) -> JSONResponse:
    if not username or password is None:
        raise oauth_error(400, "invalid_request", "grant_type=password needs username and password")
    peer = _peer(request)
    _locked(ctx, username, peer)
    user = verify(load_users(ctx.settings.users_file), username, password)
    if user is None:
        raise _failed(ctx, username, peer, oauth_error(400, "invalid_grant", "unknown user name or wrong password"))
    ctx.limiter.record_success(username)
    try:
        scopes = grant(_requested(scope), ROLE_SCOPES.get(user.role, frozenset()))
    except ValueError as exc:
        raise oauth_error(400, "invalid_scope", str(exc)) from exc
    subject = f"user:{user.name}"
    return _issue(ctx, subject, scopes, ctx.refresh.issue(subject, scopes))


def _client_credentials(ctx: ApiContext, request: Request, client_id: str | None, client_secret: str | None,
                        scope: str | None) -> JSONResponse:
    basic = _basic_credentials(request)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or client_secret is None:
        raise oauth_error(401, "invalid_client", "client authentication needed (Basic or client_id + client_secret)",
                          headers={"WWW-Authenticate": 'Basic realm="ticktrack"'})
    key, peer = f"client:{client_id}", _peer(request)
    _locked(ctx, key, peer)
    client: Client | None = load_clients(ctx.settings.clients_file).get(client_id)
    if client is None or not client.secret_matches(client_secret):
        raise _failed(ctx, key, peer, oauth_error(401, "invalid_client", "unknown client or wrong secret",
                                                  headers={"WWW-Authenticate": 'Basic realm="ticktrack"'}))
    ctx.limiter.record_success(key)
    try:
        scopes = grant(_requested(scope), frozenset(client.scopes))
    except ValueError as exc:
        raise oauth_error(400, "invalid_scope", str(exc)) from exc
    return _issue(ctx, f"client:{client.client_id}", scopes, None)  # RFC 6749 4.4.3: no refresh token


def _refresh(ctx: ApiContext, refresh_token: str | None, scope: str | None) -> JSONResponse:
    if not refresh_token:
        raise oauth_error(400, "invalid_request", "grant_type=refresh_token needs refresh_token")
    try:
        old, successor = ctx.refresh.rotate(refresh_token)
    except RefreshError as exc:
        raise oauth_error(400, "invalid_grant", str(exc)) from exc
    kind, _, name = old.subject.partition(":")
    user = load_users(ctx.settings.users_file).get(name) if kind == "user" else None
    if user is None:
        ctx.refresh.revoke(successor)
        raise oauth_error(400, "invalid_grant", "the refresh token's account no longer exists")
    allowed = old.scopes & ROLE_SCOPES.get(user.role, frozenset())
    try:
        scopes = grant(_requested(scope), allowed)  # RFC 6749 section 6: never more than first granted
    except ValueError as exc:
        ctx.refresh.revoke(successor)
        raise oauth_error(400, "invalid_scope", str(exc)) from exc
    return _issue(ctx, old.subject, scopes, successor)


@router.post("/token", response_model=TokenResponse, summary="Get an access token (OAuth 2.0, RFC 6749)",
             responses={400: {"description": "invalid_request / invalid_grant / invalid_scope / unsupported_grant_type"},
                        401: {"description": "invalid_client"}, 429: {"description": "too many failed attempts"}})
def token(request: Request, ctx: Annotated[ApiContext, Depends(get_context)],
          grant_type: Annotated[str, Form(description="password | client_credentials | refresh_token")],
          username: Annotated[str | None, Form()] = None, password: Annotated[str | None, Form()] = None,
          scope: Annotated[str | None, Form(description="space separated; default: all the account may hold")] = None,
          refresh_token: Annotated[str | None, Form()] = None, client_id: Annotated[str | None, Form()] = None,
          client_secret: Annotated[str | None, Form()] = None) -> JSONResponse:
    """Form-encoded, as RFC 6749 section 4 asks; errors are problem documents with the OAuth ``error`` code."""
    ctx.limits.token_request(_peer(request))
    if grant_type == "password":
        return _password(ctx, request, username, password, scope)
    if grant_type == "client_credentials":
        return _client_credentials(ctx, request, client_id, client_secret, scope)
    if grant_type == "refresh_token":
        return _refresh(ctx, refresh_token, scope)
    raise oauth_error(400, "unsupported_grant_type", f"grant_type must be one of {', '.join(GRANTS)}")


@router.post("/revoke", summary="Revoke a refresh token and its family (RFC 7009)", status_code=200)
def revoke(ctx: Annotated[ApiContext, Depends(get_context)], token: Annotated[str, Form()],
           token_type_hint: Annotated[str | None, Form()] = None) -> JSONResponse:
    """200 whether or not the token was known (RFC 7009 section 2.2); access tokens expire on their own."""
    ctx.refresh.revoke(token)
    return JSONResponse({}, headers=NO_STORE)
