"""The Prometheus metric families of the daemon (contract §8 names, types and labels, plus
the documented extras): one typed attribute each, registered on the given registry.
``adapters.metrics.Metrics`` adds the observations the daemon makes on them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from staffer.adapters.metrics_fresh import FreshnessGauges

PLAN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class MetricFamilies:
    """Every metric family, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = self.registry = registry
        sq = ["site", "queue"]
        self.queue_agents = Gauge(
            "staffer_queue_agents",
            "Agents per queue by kind (assigned now, planner target, required alone).",
            [*sq, "kind"],
            registry=r,
        )
        self.predicted_sl = Gauge(
            "staffer_queue_predicted_service_level",
            "Predicted service level at the target staffing.",
            sq,
            registry=r,
        )
        self.predicted_asa = Gauge(
            "staffer_queue_predicted_asa_seconds",
            "Predicted average speed of answer at the target staffing (+Inf when under-staffed).",
            sq,
            registry=r,
        )
        self.predicted_abandon = Gauge(
            "staffer_queue_predicted_abandon_ratio",
            "Predicted abandonment ratio at the target staffing.",
            sq,
            registry=r,
        )
        self.forecast_rate = Gauge(
            "staffer_queue_forecast_arrival_rate",
            "Forecast arrivals per second over the planning horizon.",
            sq,
            registry=r,
        )
        self.waiting = Gauge(
            "staffer_queue_waiting_contacts", "Contacts waiting, as last observed.", sq, registry=r
        )
        self.observed_sl = Gauge(
            "staffer_queue_observed_service_level",
            "Observed service level of the last interval.",
            sq,
            registry=r,
        )
        self.moves = Counter(
            "staffer_moves_total",
            "Agent moves published in commands.",
            ["site", "from_queue", "to_queue"],
            registry=r,
        )
        self.plan_duration = Histogram(
            "staffer_plan_duration_seconds",
            "Time to compute one site's plan.",
            ["site"],
            buckets=PLAN_BUCKETS,
            registry=r,
        )
        self.messages = Counter(
            "staffer_messages_total",
            "Inbound MQTT messages by outcome.",
            ["kind", "outcome"],
            registry=r,
        )
        self.overrides_active = Gauge(
            "staffer_overrides_active", "Active supervisor overrides.", ["site"], registry=r
        )
        self.mqtt_connected = Gauge(
            "staffer_mqtt_connected", "1 while connected to the MQTT broker.", registry=r
        )
        self.storage_ok = Gauge(
            "staffer_storage_ok", "1 while state writes succeed, 0 while they fail.", registry=r
        )
        self.storage_ok.set(1)
        self.mode = Gauge(
            "staffer_mode",
            "1 for the site's active mode, 0 for the others.",
            ["site", "mode"],
            registry=r,
        )
        self.build_info = Info("staffer_build", "Build information.", registry=r)
        self.move_acks = Counter(
            "staffer_move_acks_total",
            "Valid move acknowledgements from bridges, by status (contract §10).",
            ["site", "status"],
            registry=r,
        )
        # extras
        self.invalid = Counter(
            "staffer_invalid_messages_total",
            "Rejected inbound messages by kind and reason code.",
            ["kind", "reason"],
            registry=r,
        )
        self.reconnects = Counter(
            "staffer_mqtt_reconnects_total",
            "Connections to the broker after the first.",
            registry=r,
        )
        help_http = "HTTP connections or requests refused (too_many_connections, malformed)."
        self.http_refused = Counter(
            "staffer_http_rejected_total", help_http, ["reason"], registry=r
        )
        self.takeovers = Counter(
            "staffer_mqtt_session_takeovers_total",
            "Broker sessions ended because another client connected with our client id.",
            registry=r,
        )
        self.coalesced = Counter(
            "staffer_messages_coalesced_total",
            "Queued snapshots superseded by a newer one under overload.",
            registry=r,
        )
        self.commands = Counter(
            "staffer_commands_total", "Command messages published.", ["site"], registry=r
        )
        self.override_requests = Counter(
            "staffer_override_requests_total",
            "Supervisor requests by outcome.",
            ["site", "outcome"],
            registry=r,
        )
        self.sl_target = Gauge(
            "staffer_queue_sl_target",
            "Service-level goal the last plan aimed at (ratio).",
            sq,
            registry=r,
        )
        self.target_s = Gauge(
            "staffer_queue_target_seconds",
            "Answer-time threshold of the service-level goal.",
            sq,
            registry=r,
        )
        self.last_input = Gauge(
            "staffer_site_last_input_timestamp_seconds",
            "Wall-clock time of the last valid snapshot of the site.",
            ["site"],
            registry=r,
        )
        self.last_plan = Gauge(
            "staffer_site_last_plan_timestamp_seconds",
            "Wall-clock time of the site's last plan (either clock).",
            ["site"],
            registry=r,
        )
        self.move_timeouts = Counter(
            "staffer_move_timeouts_total",
            "Commanded moves not confirmed by an agent state within move_timeout_s.",
            ["site"],
            registry=r,
        )
        self.in_flight = Gauge(
            "staffer_moves_in_flight", "Moves commanded, not yet confirmed.", ["site"], registry=r
        )
        # approve mode (contract §9)
        self.proposals = Counter(
            "staffer_proposals_total",
            "Proposals closed, by outcome (approved, rejected, expired, withdrawn).",
            ["site", "outcome"],
            registry=r,
        )
        self.proposals_open = Gauge(
            "staffer_proposals_open", "Open proposals awaiting a supervisor.", ["site"], registry=r
        )
        self.freshness = FreshnessGauges(r)  # contract §16
