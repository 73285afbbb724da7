"""What every request handler reaches through ``app.state``: settings, token signer, stores, reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request, WebSocket

from access.auth_limits import SignInLimiter, SignInLimits
from access.reads import Reads
from api.config import ApiSettings
from api.rate_limit import RateLimits
from api.refresh import RefreshStore
from api.stream_hub import StreamHub
from api.tokens import TokenSigner


@dataclass(frozen=True)
class ApiContext:
    """Built once per process at startup (``api.app.create_app``'s lifespan)."""

    settings: ApiSettings
    signer: TokenSigner
    refresh: RefreshStore
    limiter: SignInLimiter
    reads: Reads
    hub: StreamHub | None = None  # the /v1/stream consumer; None when API_STREAM=false
    kafka: dict[str, str] = field(default_factory=dict)  # the stack's Kafka client settings (writes to fleet.config)
    rates: RateLimits | None = None  # None: made from the settings

    def __post_init__(self) -> None:
        if self.rates is None:
            object.__setattr__(self, "rates", RateLimits.of(self.settings.rate_limit, self.settings.token_rate_limit))

    @property
    def limits(self) -> RateLimits:
        assert self.rates is not None  # set in __post_init__
        return self.rates


def limiter_for(settings: ApiSettings) -> SignInLimiter:
    """The dashboard's shared failure counter, with the API's own file and limits."""
    return SignInLimiter(settings.token_attempts_file, SignInLimits(
        max_per_user=settings.max_token_failures, max_per_client=settings.max_token_failures_per_peer,
        window_s=settings.token_failure_window_s, lockout_s=settings.token_lockout_s))


def get_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def get_ws_context(websocket: WebSocket) -> ApiContext:
    ctx: ApiContext = websocket.app.state.ctx
    return ctx
