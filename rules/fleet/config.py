"""Every threshold of the fleet rules, declared once, typed, with its unit.

A plain frozen model: rules take a ``FleetSettings`` argument instead of reading globals, so
tests pass their own and never pick up a shell's variables. ``settings.rules_env`` builds it from
the environment with the prefix ``FLEET_`` (``FLEET_OVERSPEED_MIN_DURATION_S=5``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FleetSettings(BaseModel):
    """Thresholds of the fleet analytics; the defaults are what a Traccar user would expect."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # ordering
    reorder_max_pending: int = Field(3600, ge=1, description="fixes a vehicle's reorder buffer holds at most; beyond it the oldest are released at "
                                                          "once (memory bound for a device uploading a long backlog in one burst)")
    reorder_hold_s: float = Field(2.0, ge=0, description="s of processing time a fix that cannot take the fast path (first fix, fix after a gap) "
                                                         "waits for older fixes before it is released")
    reorder_hold_max_s: float = Field(10.0, ge=0, description="s; the most the reorder hold adapts up to for a vehicle whose fixes arrive out of "
                                                              "order (its worst lateness within reorder_adapt_window_s + 0.25 s)")
    reorder_adapt_window_s: float = Field(600.0, gt=0, description="s of processing time a lateness measurement counts for the adapted hold")
    reorder_fast_gap_s: float = Field(2.0, ge=0, description="s; an in-order fix less than this after the last released one is released at once (0 "
                                                             "= always wait the hold)")
    dedup_horizon_s: float = Field(600.0, ge=0, description="s; how far back released timestamps are remembered to drop duplicates")
    # overspeed
    default_speed_limit_kmh: float | None = Field(100.0, gt=0, description="km/h; limit when neither geofence, vehicle nor fleet has one (None = "
                                                                           "no overspeed)")
    overspeed_min_duration_s: float = Field(10.0, ge=0, description="s; above the limit at least this long before the alert")
    overspeed_tolerance_kmh: float = Field(0.0, ge=0, description="km/h; speed must exceed limit + tolerance")
    overspeed_critical_over_kmh: float = Field(30.0, gt=0, description="km/h over the limit at which the alert is critical")
    overspeed_max_gap_s: float = Field(60.0, gt=0, description="s; a longer gap between fixes ends the episode")
    # harsh driving
    harsh_brake_ms2: float = Field(4.0, gt=0, description="m/s^2 of deceleration for harsh braking")
    harsh_accel_ms2: float = Field(3.5, gt=0, description="m/s^2 of acceleration for harsh acceleration")
    harsh_corner_ms2: float = Field(4.0, gt=0, description="m/s^2 lateral (accel y) for harsh cornering")
    harsh_max_gap_s: float = Field(10.0, gt=0, description="s; speed deltas over longer gaps are ignored")
    harsh_quiet_s: float = Field(30.0, gt=0, description="s without a harsh reading of its type after which a harsh incident clears; a "
                                                         "harsh reading within it extends the incident")
    # geofences
    geofence_dwell_s: float = Field(10.0, ge=0, description="s since the crossing (the first fix on the other side of the edge) before a new "
                                                            "inside/outside state is confirmed")
    geofence_dwell_samples: int = Field(2, ge=1, description="fixes at least the margin beyond the edge needed to confirm a new inside/outside state")
    geofence_margin_m: float = Field(15.0, ge=0, description="m; a fix counts for a zone's other side only this far beyond its edge (zone property "
                                                             "margin_m overrides): consumer GPS is off by ~5 m (1 sigma) in the open and 10-20 m "
                                                             "among buildings")
    geofence_stationary_s: float = Field(30.0, ge=0, description="s at or under idle_speed_kmh (or any fix with the ignition off) after which a "
                                                                 "vehicle is stationary: it cannot enter or leave a zone by drift")
    geofence_segment_max_gap_s: float = Field(600.0, gt=0, description="s; fixes further apart are not joined by a straight segment for the zones' "
                                                                       "segment check")
    # idle / offline
    idle_speed_kmh: float = Field(2.0, ge=0, description="km/h; at or below this the vehicle is not moving")
    idle_min_s: float = Field(300.0, gt=0, description="s; ignition on and not moving this long = idle alert")
    idle_max_gap_s: float = Field(120.0, gt=0, description="s; a longer gap restarts the idle count")
    offline_timeout_s: float = Field(600.0, gt=0, description="s of processing time without data before device_offline (Traccar: 600)")
    stream_stall_tolerance_s: float = Field(30.0, ge=0, description="s; while the flow is behind, the stream clock ignores this much wall time "
                                                                    "without records (a starved process), so stalls change no alert")
    # trips and score
    trip_start_speed_kmh: float = Field(5.0, ge=0, description="km/h; above this the vehicle is moving")
    trip_min_stop_s: float = Field(300.0, ge=0, description="s; a stop at least this long ends a trip; shorter stops do not split it")
    trip_max_gap_s: float = Field(600.0, gt=0, description="s; a data gap this long ends a trip (counted as a stop)")
    trip_min_distance_m: float = Field(500.0, ge=0, description="m; shorter trips are discarded (Traccar: 500)")
    trip_min_duration_s: float = Field(300.0, ge=0, description="s; shorter trips are discarded (Traccar: 300)")
    score_min_distance_km: float = Field(10.0, gt=0, description="km; events are rated per 100 km of at least this distance")
    score_weight_harsh_brake: float = Field(2.0, ge=0, description="points per harsh braking per 100 km")
    score_weight_harsh_accel: float = Field(1.5, ge=0, description="points per harsh acceleration per 100 km")
    score_weight_harsh_corner: float = Field(1.5, ge=0, description="points per harsh cornering per 100 km")
    score_weight_overspeed: float = Field(3.0, ge=0, description="points per overspeed episode per 100 km")
    score_weight_idle_10min: float = Field(1.0, ge=0, description="points per 10 minutes idle per 100 km")
    score_timezone: str = Field("UTC", description="IANA zone of the daily score when the fleet has none")
    # device values (ranges and health)
    range_min_samples: int = Field(2, ge=1, description="fixes; a value must be out of range this many fixes in a row (to raise, to escalate, and "
                                                        "back past the clear threshold to clear)")
    range_clear_s: float = Field(300.0, ge=0, description="s; an incident clears only after this long back past its clear threshold; a reading out "
                                                          "of range within it extends the open incident (hold-off)")
    coolant_hysteresis_c: float = Field(5.0, ge=0, description="deg C; coolant_high clears below the raise threshold minus this (110 - 5 = 105, "
                                                               "the top of normal)")
    battery_hysteresis_v: float = Field(0.2, ge=0, description="V; battery_low clears above its threshold plus this (12.2 + 0.2 = 12.4, a healthy "
                                                               "resting battery), charging_fault inside the band narrowed by this")
    tire_hysteresis_kpa: float = Field(10.0, ge=0, description="kPa; tire incidents clear this far back inside the limit (low: 200 kPa)")
    oil_life_hysteresis_pct: float = Field(2.0, ge=0, description="% points; oil_life_low clears this far above its threshold")
    rpm_hysteresis: float = Field(500.0, ge=0, description="rpm; rpm_high clears below rpm_high minus this")
    coolant_high_c: float = Field(110.0, description="deg C; coolant above = warning (normal 80-105)")
    coolant_critical_c: float = Field(120.0, description="deg C; coolant above = critical")
    battery_off_low_v: float = Field(12.2, description="V; engine off below = warning (healthy 12.4-12.7)")
    battery_off_critical_v: float = Field(11.8, description="V; engine off below = critical (may not start)")
    battery_charging_low_v: float = Field(13.2, description="V; engine running below = alternator not charging")
    battery_charging_high_v: float = Field(15.0, description="V; engine running above = overcharging")
    tire_low_kpa: float = Field(190.0, description="kPa; a wheel below = warning")
    tire_critical_kpa: float = Field(150.0, description="kPa; a wheel below = critical (flat)")
    tire_high_kpa: float = Field(330.0, description="kPa; a wheel above = warning")
    oil_life_low_pct: float = Field(15.0, description="%; oil life below = warning")
    oil_life_critical_pct: float = Field(5.0, description="%; oil life below = critical")
    rpm_high: float = Field(5500.0, description="rpm; above = warning (engine abuse)")
    # fuel
    fuel_window_s: float = Field(900.0, gt=0, description="s; fuel drops are measured within this window")
    fuel_drop_parked_pct: float = Field(5.0, gt=0, description="% points lost while parked or ignition off = fuel_drop")
    fuel_drop_moving_pct: float = Field(10.0, gt=0, description="% points lost within the window while driving = fuel_drop (leak)")
    refuel_rise_pct: float = Field(10.0, gt=0, description="% points gained = refuel")
    # DTC and maintenance
    dtc_realert_after_s: float = Field(7 * 86400.0, gt=0, description="s; a code unseen this long alerts again when it returns")
    dtc_clear_s: float = Field(900.0, gt=0, description="s a code must be missing from the reported list (and range_min_samples fixes) before "
                                                        "its incident clears; it returning within that extends the incident")
    service_due_soon_days: float = Field(14.0, ge=0, description="days; a service due within this is 'attention'")
    service_due_soon_km: float = Field(1000.0, ge=0, description="km; a service due within this is 'attention'")
    usage_window_days: int = Field(30, ge=1, description="days of history for the km/day and hours/day rates")
    maintenance_repeat_days: float = Field(7.0, ge=0, description="days between reminders of an overdue service whose rule sets no repeat_days / "
                                                                  "repeat_km / repeat_engine_hours (0 = remind once)")
    # motion events (Traccar minimalTripDistance / minimalTripDuration; capped at trip_min_distance_m / trip_min_duration_s)
    motion_min_distance_m: float = Field(500.0, ge=0, description="m; a motion is announced (motion_started) once it covered this ...")
    motion_min_duration_s: float = Field(300.0, ge=0, description="s; ... or lasted this long (Traccar: 500 m, 300 s)")
