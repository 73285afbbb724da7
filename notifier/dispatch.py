"""Delivers the alerts of many messages at once, each delivery with its own retries.

Attempts run on a small thread pool; waiting for a retry takes no thread (a heap of due
times), so a recipient that is down holds only its own deliveries, and every other recipient
keeps getting alerts. A message is *settled* when each of its deliveries is sent, permanently
failed (dead-lettered: logged and stored as ``failed``) or was already final in the log;
only then may its offset be committed. Touches the delivery log from the caller's thread only.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog

from notifier.alert import notice_key
from notifier.channels import Channel
from notifier.dedupe import EXPIRED, FAILED, SENT, DeliveryKey, DeliveryLog, delivery_id
from notifier.recipients import WEBHOOK, Delivery
from notifier.retry import AttemptResult, Outcome, RetryPolicy

log = structlog.get_logger(__name__)


@dataclass
class _Job:
    key: DeliveryKey
    delivery: Delivery
    alert: Mapping[str, Any]
    attempts: int
    refs: list[Hashable]  # messages waiting for this delivery (a replay read while it runs joins)


def shown_target(channel: str, target: str) -> str:
    """A target as it may appear in logs: webhook URLs often carry a secret (Slack, Teams), so
    only scheme, host and a short hash of the full URL are shown; addresses are shown as is."""
    if channel != WEBHOOK:
        return target
    parts = urlsplit(target)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…#{hashlib.sha256(target.encode()).hexdigest()[:8]}"


def _attempt(channel: Channel, job: _Job) -> AttemptResult:
    try:
        return channel.send(job.alert, job.delivery, delivery_id(job.key))
    except Exception as exc:  # noqa: BLE001 - a channel bug must not kill the dispatcher
        return AttemptResult(Outcome.RETRY, f"channel error {type(exc).__name__}: {exc}")


class Dispatcher:
    """Runs deliveries and reports which messages (by caller's ``ref``) are settled."""

    def __init__(self, channels: Mapping[str, Channel], delivery_log: DeliveryLog, policy: RetryPolicy,
                 workers: int = 8, clock: Callable[[], float] = time.monotonic) -> None:
        self._channels = channels
        self._log = delivery_log
        self._policy = policy
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notify")
        self._jobs: dict[DeliveryKey, _Job] = {}
        self._running: dict[Future[AttemptResult], _Job] = {}
        self._retries: list[tuple[float, int, DeliveryKey]] = []
        self._seq = itertools.count()
        self._remaining: dict[Hashable, int] = {}
        self._settled: list[Hashable] = []
        self.stats: Counter[str] = Counter()

    # --- intake ---------------------------------------------------------------------------

    def add(self, ref: Hashable, alert: Mapping[str, Any], deliveries: list[Delivery]) -> None:
        """Start the deliveries of one message; those already final in the log are skipped.

        Deliveries are keyed by the incident notice (``notice_key``: the raise, escalation or
        clear of one incident), so each recipient hears of each exactly once."""
        alert_id = notice_key(alert)
        pending = 0
        for d in deliveries:
            key = DeliveryKey(alert_id, d.channel, d.target)
            if key in self._jobs:
                # The same alert read again while its first copy is being delivered (a replay, or
                # a re-read after a rebalance): not sent again, but this message settles only with
                # that delivery, so its offset cannot be committed past an unfinished send.
                self._jobs[key].refs.append(ref)
                pending += 1
                self.stats["duplicate"] += 1
                log.info("duplicate alert in flight, not sent again", alert_id=alert_id, channel=d.channel,
                         target=shown_target(d.channel, d.target))
                continue
            state = self._log.claim(key, vehicle_id=str(alert.get("vehicle_id")), alert_type=str(alert.get("type")),
                                    recipients=",".join(d.recipients))
            if state.final:
                self.stats["duplicate"] += 1
                log.info("already delivered, not sent again", alert_id=alert_id, channel=d.channel, target=shown_target(d.channel, d.target),
                         status=state.status)
                continue
            if d.channel not in self._channels:
                self._log.finish(key, FAILED, f"channel {d.channel} not configured")
                self.stats["failed"] += 1
                log.error("dead letter: channel not configured", alert_id=alert_id, channel=d.channel, target=shown_target(d.channel, d.target))
                continue
            if state.attempts >= self._policy.max_attempts:  # attempts used up before a restart
                self._dead_letter(_Job(key, d, alert, state.attempts, [ref]), state.last_error or "attempts exhausted")
                continue
            job = _Job(key, d, alert, state.attempts, [ref])
            self._jobs[key] = job
            self._start(job)
            pending += 1
        self._remaining[ref] = pending
        if pending == 0:
            self._settle_ref(ref)

    def expire(self, ref: Hashable, alert: Mapping[str, Any], deliveries: list[Delivery], reason: str) -> None:
        """Do not send this message (e.g. too old) but remember it, so a replay stays silent too."""
        for d in deliveries:
            key = DeliveryKey(notice_key(alert), d.channel, d.target)
            state = self._log.get(key)
            if key not in self._jobs and (state is None or not state.final):
                self._log.finish(key, EXPIRED, reason)
                self.stats["expired"] += 1
        self._remaining[ref] = 0
        self._settle_ref(ref)

    # --- progress -------------------------------------------------------------------------

    def poll(self, timeout_s: float = 0.0) -> list[Hashable]:
        """Start due retries, collect finished attempts (waiting at most ``timeout_s`` for one),
        and return the refs settled since the last call."""
        self._start_due()
        if self._running and not self._settled:
            if self._retries:
                timeout_s = min(timeout_s, max(0.0, self._retries[0][0] - self._clock()))
            finished, _ = wait(list(self._running), timeout=timeout_s, return_when=FIRST_COMPLETED)
            for fut in finished:
                self._finish(self._running.pop(fut), fut.result())
            self._start_due()
        settled, self._settled = self._settled, []
        return settled

    def pending_deliveries(self) -> int:
        """Deliveries running or waiting for a retry."""
        return len(self._jobs)

    def next_retry_in(self) -> float | None:
        """Seconds until the next retry is due (None = no retry waiting)."""
        return max(0.0, self._retries[0][0] - self._clock()) if self._retries else None

    def close(self, grace_s: float) -> list[Hashable]:
        """Let running attempts finish for up to ``grace_s`` and record them; retries still
        waiting stay ``pending`` in the log and resume after a restart (their offsets are not
        committed). Returns the refs settled meanwhile."""
        deadline = self._clock() + grace_s
        while self._running and self._clock() < deadline:
            finished, _ = wait(list(self._running), timeout=max(0.0, deadline - self._clock()), return_when=FIRST_COMPLETED)
            for fut in finished:
                job = self._running.pop(fut)
                result = fut.result()
                self._finish(job, result, retry=False)
        self._pool.shutdown(wait=False, cancel_futures=True)
        settled, self._settled = self._settled, []
        return settled

    # --- internals ------------------------------------------------------------------------

    def _start(self, job: _Job) -> None:
        self._running[self._pool.submit(_attempt, self._channels[job.delivery.channel], job)] = job

    def _start_due(self) -> None:
        now = self._clock()
        while self._retries and self._retries[0][0] <= now:
            _, _, key = heapq.heappop(self._retries)
            self._start(self._jobs[key])

    def _finish(self, job: _Job, result: AttemptResult, retry: bool = True) -> None:
        job.attempts += 1
        self._log.record_attempt(job.key, job.attempts, result.outcome.value, result.detail)
        ctx = {"alert_id": job.key.alert_id, "channel": job.key.channel, "target": shown_target(job.key.channel, job.key.target),
               "attempt": job.attempts, "detail": result.detail}
        if result.outcome is Outcome.SENT:
            self._log.finish(job.key, SENT)
            self.stats["sent"] += 1
            log.info("delivered", **ctx)
            self._done(job)
        elif self._policy.should_retry(result, job.attempts):
            if not retry:  # shutting down: leave it pending for the next start
                self._jobs.pop(job.key, None)
                return
            delay = self._policy.delay_s(job.attempts, result.retry_after_s)
            heapq.heappush(self._retries, (self._clock() + delay, next(self._seq), job.key))
            self.stats["retry"] += 1
            log.warning("delivery failed, will retry", retry_in_s=round(delay, 3), **ctx)
        else:
            self._dead_letter(job, result.detail)
            self._done(job)

    def _dead_letter(self, job: _Job, detail: str) -> None:
        self._log.finish(job.key, FAILED, detail)
        self.stats["failed"] += 1
        log.error("dead letter: delivery failed for good", alert_id=job.key.alert_id, channel=job.key.channel,
                  target=shown_target(job.key.channel, job.key.target), attempts=job.attempts, detail=detail,
                  vehicle_id=job.alert.get("vehicle_id"), type=job.alert.get("type"))

    def _done(self, job: _Job) -> None:
        self._jobs.pop(job.key, None)
        for ref in job.refs:
            self._remaining[ref] -= 1
            if self._remaining[ref] == 0:
                self._settle_ref(ref)

    def _settle_ref(self, ref: Hashable) -> None:
        self._remaining.pop(ref, None)
        self._settled.append(ref)
