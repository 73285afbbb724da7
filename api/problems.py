"""Every error as RFC 9457 ``application/problem+json``: type, title, status, detail, instance.

OAuth errors (RFC 6749 section 5.2) keep their ``error`` code as an extension member, so an
OAuth client finds the code it looks for and everyone else a problem document. 401 responses
carry ``WWW-Authenticate: Bearer`` (RFC 6750 section 3), 403 for a missing scope names it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://ticktrack.example/problems/"  # stable identifiers; docs/api.md#errors describes each


class Problem(Exception):
    """An error the API answers with; ``kind`` becomes the ``type`` URI."""

    def __init__(self, status: int, kind: str, detail: str, *, headers: dict[str, str] | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def problem_body(status: int, kind: str, detail: str, instance: str, **extensions: Any) -> dict[str, Any]:
    """The problem document (extension members after the standard ones)."""
    return {"type": TYPE_BASE + kind, "title": HTTPStatus(status).phrase, "status": status, "detail": detail,
            "instance": instance, **extensions}


def respond(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(problem_body(problem.status, problem.kind, problem.detail, request.url.path, **problem.extensions),
                        status_code=problem.status, headers=problem.headers, media_type=MEDIA_TYPE)


def unauthorized(detail: str, error: str = "invalid_token") -> Problem:
    """401: no usable token. ``error`` as in RFC 6750 (absent when no token was sent at all)."""
    challenge = 'Bearer realm="ticktrack"' + (f', error="{error}"' if error else "")
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": challenge})


def forbidden_scope(scope: str) -> Problem:
    """403: a valid token without the scope this endpoint needs."""
    return Problem(403, "insufficient-scope", f"this endpoint needs the scope {scope}",
                   headers={"WWW-Authenticate": f'Bearer realm="ticktrack", error="insufficient_scope", scope="{scope}"'},
                   required_scope=scope)


def not_found(detail: str) -> Problem:
    """404: also for what exists outside the caller's data scope (never a hint that it exists)."""
    return Problem(404, "not-found", detail)


def oauth_error(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> Problem:
    """A token endpoint error: RFC 6749 ``error`` code inside a problem document."""
    return Problem(status, f"oauth/{error}", detail, headers=headers, error=error, error_description=detail)


def install(app: FastAPI) -> None:
    """Problem documents for our errors, FastAPI's HTTP errors and request validation errors."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return respond(exc, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not-found" if exc.status_code == 404 else "http-error"
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return respond(Problem(exc.status_code, kind, detail, headers=dict(exc.headers or {})), request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()]
        return respond(Problem(400, "invalid-request", "the request's parameters are invalid", errors=errors), request)
