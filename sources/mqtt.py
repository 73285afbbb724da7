"""Bytewax input from an MQTT broker (paho-mqtt 2.x, MQTT 5).

Every Bytewax worker builds one partition; all partitions join one MQTT 5 *shared
subscription* (``$share/<group>/<filter>``), so the broker splits the stream between
workers and none sees a message twice. Messages arrive at QoS 1 on a persistent session
(fixed client id per worker, ``clean_start=False``), and each one is acknowledged to the
broker only once it has been handed to the dataflow (paho manual ack): a crash before
that makes the broker deliver it again. A bounded queue sits between paho's network
thread and the dataflow; when it is full the network thread waits, and MQTT flow control
(Receive Maximum) stops the broker from sending more - memory stays bounded under a burst.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import structlog
from bytewax.inputs import DynamicSource, StatelessSourcePartition
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from sources.mqtt_client import MqttConnection, connect_client, make_client

log = structlog.get_logger(__name__)

_IDLE_WAIT = timedelta(milliseconds=5)


@dataclass(frozen=True)
class MqttMessage:
    """One message as the broker delivered it."""

    topic: str
    payload: bytes
    received_at_ms: int
    qos: int = 1
    retain: bool = False


class _MqttPartition(StatelessSourcePartition[MqttMessage]):
    """One worker's share of the subscription."""

    def __init__(self, conn: MqttConnection, client_id: str, subscription: str, queue_size: int, batch_size: int, session_expiry_s: int) -> None:
        self._queue: queue.Queue[tuple[MqttMessage, int]] = queue.Queue(maxsize=queue_size)
        self._to_ack: list[int] = []
        self._batch_size = batch_size
        self._subscription = subscription
        self._closing = threading.Event()
        self._idle = False
        self._client_id = client_id
        self._client = make_client(conn, client_id, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        connect_client(self._client, conn, clean_start=False, session_expiry_s=session_expiry_s, receive_maximum=queue_size)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, _userdata: object, _flags: mqtt.ConnectFlags, reason_code: ReasonCode,
                    _props: Properties | None) -> None:
        if reason_code.is_failure:
            log.warning("mqtt_connect_failed", client_id=self._client_id, reason=str(reason_code))
            return
        log.info("mqtt_connected", client_id=self._client_id, subscription=self._subscription)
        client.subscribe(self._subscription, qos=1)

    def _on_subscribe(self, _client: mqtt.Client, _userdata: object, _mid: int, reason_codes: list[ReasonCode],
                      _props: Properties | None) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("mqtt_subscribe_refused", client_id=self._client_id, subscription=self._subscription, reasons=failed)
        else:
            log.info("mqtt_subscribed", client_id=self._client_id, subscription=self._subscription)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object, _flags: mqtt.DisconnectFlags, reason_code: ReasonCode,
                       _props: Properties | None) -> None:
        if not self._closing.is_set():
            log.warning("mqtt_disconnected", client_id=self._client_id, reason=str(reason_code))

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        item = MqttMessage(msg.topic, bytes(msg.payload), int(time.time() * 1000), msg.qos, bool(msg.retain))
        # Blocks paho's network thread when the dataflow is behind: that is the backpressure.
        while not self._closing.is_set():
            try:
                self._queue.put((item, msg.mid), timeout=0.5)
                return
            except queue.Full:
                continue

    def next_batch(self) -> list[MqttMessage]:
        # The previous batch has been handed to the dataflow by now: acknowledge it.
        for mid in self._to_ack:
            self._client.ack(mid, 1)
        self._to_ack.clear()
        batch: list[MqttMessage] = []
        while len(batch) < self._batch_size:
            try:
                item, mid = self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(item)
            self._to_ack.append(mid)
        self._idle = not batch
        return batch

    def next_awake(self) -> datetime | None:
        return datetime.now(UTC) + _IDLE_WAIT if self._idle else None

    def close(self) -> None:
        # Unacknowledged messages stay in the persistent session and are delivered again.
        self._closing.set()
        self._client.disconnect()
        self._client.loop_stop()


class MqttSource(DynamicSource[MqttMessage]):
    """Subscribe every worker to one MQTT 5 shared subscription."""

    def __init__(
        self,
        conn: MqttConnection,
        topic_filter: str,
        group: str,
        client_id_prefix: str,
        queue_size: int = 1000,
        batch_size: int = 500,
        session_expiry_s: int = 24 * 3600,
    ) -> None:
        self._conn = conn
        self._subscription = f"$share/{group}/{topic_filter}"
        self._client_id_prefix = client_id_prefix
        self._queue_size = queue_size
        self._batch_size = batch_size
        self._session_expiry_s = session_expiry_s

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _MqttPartition:
        # A fixed id per worker keeps the persistent session across restarts.
        client_id = f"{self._client_id_prefix}-{worker_index}"
        return _MqttPartition(self._conn, client_id, self._subscription, self._queue_size, self._batch_size, self._session_expiry_s)
