"""Settings of the fleet dataflows, from the environment (documented defaults).

Every key is declared once here, typed, with its unit; ``docs/configuration.md`` lists them.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from settings import topics


class IngestSettings(BaseSettings):
    """MQTT -> Kafka bridge (dataflows/fleet_ingest.py). Env prefix ``INGEST_``."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    mqtt_topic_filter: str = Field("fleet/+/telemetry", description="MQTT filter the devices publish under")
    mqtt_group: str = Field("ticktrack-ingest", description="shared-subscription group; workers of one flow share it")
    mqtt_client_id_prefix: str = Field("ticktrack-ingest", description="client id = <prefix>-<worker index> (persistent session)")
    mqtt_topic_root: str = Field("", pattern=r"^([^+#/][^+#]*/)?$",
                                 description="namespace in front of every device topic, ending in '/', e.g. 'site-a/': devices publish "
                                             "<root>fleet/<id>/telemetry (tests use their own, so the demo's ingest never sees their messages)")
    mqtt_session_expiry_s: int = Field(86_400, ge=0, description="the broker keeps a stopped worker's session (and queues its messages) this long, s")
    mqtt_ca_file: str | None = Field(None, description="CA bundle for mqtts://")
    queue_size: int = Field(1000, ge=1, description="messages buffered per worker between MQTT and the flow")
    telemetry_topic: str = Field(topics.FLEET_TELEMETRY, description="Kafka topic of valid telemetry (Avro)")
    deadletter_topic: str = Field(topics.FLEET_DEADLETTER, description="Kafka topic of rejected messages (JSON)")
    ts_max_age_days: float = Field(90.0, gt=0, description="a fix older than this before its arrival is rejected (keep <= the fleet bucket "
                                                           "retention, FLEET_RETENTION_DAYS)")
    ts_max_future_s: float = Field(300.0, ge=0, description="a fix stamped more than this after its arrival is rejected (wrong device clock)")


class StoreSettings(BaseSettings):
    """Kafka -> InfluxDB writer of the fleet bucket (dataflows/fleet_store.py). Env prefix ``STORE_``.

    The only fleet process that writes InfluxDB: raw telemetry (tagged with its fleet from the
    registry) and everything the analytics flow computed (``points_topic``)."""

    model_config = SettingsConfigDict(env_prefix="STORE_", extra="ignore")

    telemetry_topic: str = Field(topics.FLEET_TELEMETRY, description="Kafka topic of valid telemetry (Avro) to store")
    points_topic: str = Field(topics.FLEET_POINTS, description="Kafka topic of analytics outputs (line protocol) to store")
    deadletter_topic: str = Field(topics.FLEET_DEADLETTER, description="records InfluxDB refuses or that do not decode go here")
    config_topic: str = Field(topics.FLEET_CONFIG, description="compacted topic of live registry changes (fleet of each vehicle)")
    vehicles_file: str = Field("config/vehicles.json", description="fleets and vehicles loaded at start (fleet_id tag)")
    from_beginning: bool = Field(True, description="first start (no recovery state yet): read the topics from their earliest offsets (points are "
                                                   "idempotent); false = the latest")
    tail: bool = Field(True, description="keep waiting for new records at the end of the topic")


class AnalyticsSettings(BaseSettings):
    """Fleet rules, trips, health and 1-minute stats (dataflows/fleet_analytics.py). Env prefix ``ANALYTICS_``."""

    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore")

    telemetry_topic: str = Field(topics.FLEET_TELEMETRY, description="Kafka topic to read (Avro telemetry)")
    config_topic: str = Field(topics.FLEET_CONFIG, description="compacted topic of live registry changes")
    alerts_topic: str = Field(topics.FLEET_ALERTS, description="Kafka topic of alerts (JSON)")
    trips_topic: str = Field(topics.FLEET_TRIPS, description="Kafka topic of finished trips (JSON)")
    stops_topic: str = Field("", description="Kafka topic of stops (JSON, contracts/stop.py; make demo: fleet.stops); empty = not published "
                                             "(they still reach InfluxDB through the points topic)")
    points_topic: str = Field(topics.FLEET_POINTS, description="Kafka topic of every InfluxDB point the flow computes (line protocol; the store "
                                                               "flow writes them)")
    deadletter_topic: str = Field(topics.FLEET_DEADLETTER, description="telemetry of unknown / deactivated vehicles goes here")
    vehicles_file: str = Field("config/vehicles.json", description="fleets, vehicles and maintenance rules loaded at start")
    geofences_file: str = Field("config/geofences.geojson", description="GeoJSON geofences loaded at start")
    from_beginning: bool = Field(True, description="first start (no recovery state yet): read the topic from its earliest offset, so nothing "
                                                   "produced before the flow was up is skipped; false = only new data")
    tick_interval_s: float = Field(1.0, gt=0, description="seconds between wall-clock ticks (offline, quiet trips, lateness flush)")
    state_ttl_days: float = Field(7.0, gt=0, description="days without data after which a vehicle's state is dropped")
    source_linger_ms: float = Field(20.0, ge=0, description="ms a Kafka partition is not polled after a short batch, so live batches grow "
                                                         "(Bytewax's cost per call is paid per batch); 0 = poll at once (sources/lingering.py)")
