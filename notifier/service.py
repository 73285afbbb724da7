"""The notifier's Kafka loop: read alerts, resolve recipients, dispatch, commit when settled.

At-least-once in (an offset is committed only after every delivery of its message is sent,
dead-lettered or found final in the delivery log) plus the delivery log's dedupe = each alert
reaches each target once, across replays, restarts and rebalances of a single consumer.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from notifier.alert import InvalidAlert, parse_alert
from notifier.channels import Channel
from notifier.channels.email import EmailChannel
from notifier.channels.webhook import WebhookChannel
from notifier.config import NotifierSettings, repo_path
from notifier.dedupe import DeliveryLog
from notifier.dispatch import Dispatcher
from notifier.offsets import OffsetTracker, Partition
from notifier.recipients import EMAIL, WEBHOOK, RecipientsConfig, RecipientsError, load_recipients, resolve

log = structlog.get_logger(__name__)


def build_channels(settings: NotifierSettings, recipients: RecipientsConfig) -> dict[str, Channel]:
    """The channels the recipients use; email without an SMTP host is a configuration error."""
    channels: dict[str, Channel] = {WEBHOOK: WebhookChannel(settings.webhook_timeout_s)}
    if recipients.has_channel(EMAIL):
        if not settings.smtp_host:
            raise RecipientsError(f"{settings.recipients_file}: recipients have emails but NOTIFIER_SMTP_HOST is not set")
        channels[EMAIL] = EmailChannel(settings.smtp())
    return channels


def is_stale(alert: Mapping[str, Any], max_age_s: float, now_ms: float) -> bool:
    """An alert whose event time is older than ``max_age_s`` (0 = never stale)."""
    ts = alert.get("ts")
    return max_age_s > 0 and isinstance(ts, int | float) and not isinstance(ts, bool) and now_ms - ts > max_age_s * 1000


class NotifierService:
    """One consumer of the alerts topic with its dispatcher and offset tracker."""

    def __init__(self, settings: NotifierSettings, kafka_config: Mapping[str, str], recipients: RecipientsConfig,
                 channels: Mapping[str, Channel], delivery_log: DeliveryLog,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self._s = settings
        self._recipients = recipients
        self._dispatcher = Dispatcher(channels, delivery_log, settings.retry_policy(), workers=settings.workers)
        self._tracker = OffsetTracker()
        self._wall_clock = wall_clock
        self._consumer = Consumer({
            **kafka_config,
            "group.id": settings.group_id,
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "auto.offset.reset": settings.start_from,
            "session.timeout.ms": str(int(settings.session_timeout_s * 1000)),
            "log_level": "3",
        })
        self._paused = False
        self._reads = itertools.count()  # a message re-read after a rebalance is a new ref

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, then settle what can be settled and commit it."""
        self._consumer.subscribe([self._s.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)
        log.info("notifier started", topic=self._s.topic, group_id=self._s.group_id,
                 recipients=len(self._recipients.recipients), max_attempts=self._s.max_attempts,
                 worst_case_retry_s=round(self._s.retry_policy().worst_case_s(), 1))
        next_commit = next_stats = time.monotonic()
        try:
            while not stop.is_set():
                busy = self._dispatcher.pending_deliveries() > 0
                wait = 0.02 if busy else 0.5
                retry_in = self._dispatcher.next_retry_in()
                if retry_in is not None:
                    wait = min(wait, retry_in)
                for msg in self._consumer.consume(num_messages=100, timeout=wait):
                    self._handle(msg)
                self._mark_settled(self._dispatcher.poll(0.05 if busy else 0.0))
                self._backpressure()
                now = time.monotonic()
                if now >= next_commit:
                    self._commit()
                    next_commit = now + self._s.commit_interval_s
                if now >= next_stats:
                    log.info("notifier stats", in_flight=self._tracker.in_flight(),
                             pending_deliveries=self._dispatcher.pending_deliveries(), **dict(self._dispatcher.stats))
                    next_stats = now + self._s.stats_interval_s
        finally:
            log.info("notifier stopping", pending_deliveries=self._dispatcher.pending_deliveries())
            self._mark_settled(self._dispatcher.close(self._s.shutdown_grace_s))
            try:
                self._commit()
            finally:
                self._consumer.close()
            log.info("notifier stopped", **dict(self._dispatcher.stats))

    # --- per message ------------------------------------------------------------------------

    def _handle(self, msg: Message) -> None:
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                return
            if err.fatal():
                raise KafkaException(err)
            log.warning("kafka error", error=err.str())
            return
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        if topic is None or partition is None or offset is None:  # only error events lack them, handled above
            log.warning("kafka message without a position, skipped")
            return
        tp: Partition = (topic, partition)
        self._tracker.add(tp, offset)
        ref = (tp, offset, next(self._reads))
        try:
            alert = parse_alert(msg.value())
        except InvalidAlert as exc:
            log.error("invalid alert record, skipped", topic=tp[0], partition=tp[1], offset=offset, reason=str(exc))
            self._tracker.done(tp, offset)
            return
        deliveries = resolve(self._recipients, alert)
        if not deliveries:
            log.debug("no recipient for alert", alert_id=alert["alert_id"], vehicle_id=alert["vehicle_id"])
            self._tracker.done(tp, offset)
            return
        if is_stale(alert, self._s.max_alert_age_s, self._wall_clock() * 1000):
            log.warning("alert too old, recorded as expired, not sent", alert_id=alert["alert_id"], ts=alert.get("ts"))
            self._dispatcher.expire(ref, alert, deliveries, f"older than {self._s.max_alert_age_s} s")
            return
        self._dispatcher.add(ref, alert, deliveries)

    def _mark_settled(self, refs: list[Any]) -> None:
        for tp, offset, _ in refs:
            self._tracker.done(tp, offset)

    # --- offsets and flow control -----------------------------------------------------------

    def _commit(self, partitions: list[Partition] | None = None) -> None:
        offsets = self._tracker.to_commit(partitions)
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
        except KafkaException as exc:
            log.warning("commit failed, will retry", error=str(exc))
            return
        self._tracker.committed(offsets)

    def _backpressure(self) -> None:
        in_flight = self._tracker.in_flight()
        if not self._paused and in_flight >= self._s.max_in_flight:
            self._consumer.pause(self._consumer.assignment())
            self._paused = True
            log.info("reading paused", in_flight=in_flight)
        elif self._paused and in_flight <= self._s.max_in_flight // 2:
            self._consumer.resume(self._consumer.assignment())
            self._paused = False
            log.info("reading resumed", in_flight=in_flight)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._tracker.forget([(p.topic, p.partition) for p in partitions])
        log.info("partitions assigned", partitions=[p.partition for p in partitions])

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        self._commit(tps)  # what is settled is not sent again by the next owner
        self._tracker.forget(tps)
        log.info("partitions revoked", partitions=[p.partition for p in partitions])

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._tracker.forget([(p.topic, p.partition) for p in partitions])
        log.warning("partitions lost", partitions=[p.partition for p in partitions])


def open_service(settings: NotifierSettings, kafka_config: Mapping[str, str]) -> tuple[NotifierService, DeliveryLog]:
    """Load the recipients, open the delivery log, build the service (errors name file and key)."""
    recipients = load_recipients(repo_path(settings.recipients_file))
    channels = build_channels(settings, recipients)
    delivery_log = DeliveryLog(repo_path(settings.deliveries_db))
    pruned = delivery_log.prune(timedelta(days=settings.dedupe_retention_days))
    if pruned:
        log.info("delivery log pruned", rows=pruned)
    return NotifierService(settings, kafka_config, recipients, channels, delivery_log), delivery_log
