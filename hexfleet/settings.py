"""The one settings object, built from the environment.

Nothing else in hexfleet reads ``os.environ``: build ``Settings.from_env()`` once at
start-up and pass it down. Bad values fail loudly here, before anything starts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

# The repository root: the embedded services keep their data under ROOT/.data by default.
ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting has a value we cannot use."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _number(name: str, raw: str, kind: type, minimum: float | None, maximum: float | None = None) -> float | int:
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a {kind.__name__}, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {raw!r}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name} must be at most {maximum}, not {raw!r}")
    return value


def _setting(
    default, env: str, doc: str, minimum: float | None = None, maximum: float | None = None, *, secret: bool = False
):
    # A secret is left out of repr(settings), so a logged or printed Settings never shows it.
    return field(default=default, repr=not secret, metadata={"env": env, "doc": doc, "min": minimum, "max": maximum})


KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class Settings:
    # --- services: unset means "start an embedded one" (hexfleet dev only) ---
    database_url: str = _setting(
        "", "DATABASE_URL", "PostgreSQL URL. Unset: `hexfleet dev` starts an embedded PostgreSQL."
    )
    redis_url: str = _setting("", "REDIS_URL", "Redis URL. Unset: `hexfleet dev` starts an embedded Redis.")
    kafka_bootstrap_servers: str = _setting(
        "",
        "KAFKA_BOOTSTRAP_SERVERS",
        "Kafka bootstrap servers (host:port,...). Unset: `hexfleet dev` starts the embedded Tansu broker.",
    )
    # --- web ---
    host: str = _setting("127.0.0.1", "HOST", "Address the web server binds to.")
    port: int = _setting(8000, "PORT", "Port of the web app.", 1)
    web_concurrency: int = _setting(1, "WEB_CONCURRENCY", "Web worker processes (each consumes every ping).", 1)
    secret_key: str = _setting(
        "",
        "SECRET_KEY",
        "Signs session cookies, CSRF tokens and links; required by the web process, the same on every instance, "
        "at least 32 bytes of entropy (see Security and limits). `hexfleet dev` makes one.",
        secret=True,
    )
    secure_cookies: bool = _setting(False, "SECURE_COOKIES", "Mark session cookies Secure (set true behind HTTPS).")
    session_hours: float = _setting(12.0, "SESSION_HOURS", "Lifetime of a dispatcher's login session.", 0.1)
    max_body_bytes: int = _setting(
        262_144, "MAX_BODY_BYTES", "Largest accepted ingest request body; larger answers 413.", 1024
    )
    max_batch_pings: int = _setting(500, "MAX_BATCH_PINGS", "Most pings in one batched ingest request.", 1)
    auth_cache_ttl_s: float = _setting(
        300.0,
        "AUTH_CACHE_TTL_S",
        "How long a web process trusts a looked-up device credential. Rotations and revocations are announced "
        "to every process at once; this only bounds a lost announcement.",
        0,
    )
    allowed_origins: str = _setting(
        "",
        "ALLOWED_ORIGINS",
        "More origins (comma-separated, e.g. https://fleet.example.com) whose pages may change state; "
        "the host the browser asked for and PUBLIC_URL always may.",
    )
    map_tile_url: str = _setting(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "MAP_TILE_URL",
        "Leaflet tile URL template. Empty: no tiles, drivers on a neutral background.",
    )
    map_tile_attribution: str = _setting(
        "&copy; OpenStreetMap contributors", "MAP_TILE_ATTRIBUTION", "Attribution shown for the tiles."
    )
    map_center: str = _setting("52.5200,13.4050", "MAP_CENTER", "Initial map centre as lat,lng.")
    metrics_token: str = _setting(
        "", "METRICS_TOKEN", "Bearer token that opens /metrics from anywhere. Unset: only METRICS_ALLOW may read it."
    )
    metrics_allow: str = _setting(
        "127.0.0.0/8,::1",
        "METRICS_ALLOW",
        "Client networks (comma-separated CIDRs) that may read /metrics without a token.",
    )
    # --- rate limits (per identity, shared through Redis; "N/second|minute|hour|day", ";" between tiers) ---
    rate_ingest: str = _setting(
        "1200/minute",
        "RATE_INGEST",
        "Pings one driver may send (counted in pings: a batch of 100 costs 100, secret=True), for every protocol.",
    )
    rate_login_address: str = _setting(
        "30/minute;300/hour", "RATE_LOGIN_ADDRESS", "Sign-in attempts from one client address (refused past it)."
    )
    rate_login_pair: str = _setting(
        "10/minute;50/hour",
        "RATE_LOGIN_PAIR",
        "Sign-in attempts on one account from one client address, password checks on /account included "
        "(refused past it, the wait growing with the tier).",
    )
    rate_login_account: str = _setting(
        "20/minute;200/hour",
        "RATE_LOGIN_ACCOUNT",
        "Sign-in attempts on one account from all addresses together. Past it every attempt waits "
        "LOGIN_SLOWDOWN_S first; never refused, so nobody can lock an owner out by guessing wrong on purpose.",
    )
    login_slowdown_s: float = _setting(
        3.0,
        "LOGIN_SLOWDOWN_S",
        "The wait added to each sign-in attempt on an account past RATE_LOGIN_ACCOUNT (at most 10 s).",
        0,
        10,
    )
    rate_signup: str = _setting(
        "10/hour", "RATE_SIGNUP", "Sign-up attempts from one client address (new email or not: both look the same)."
    )
    rate_quotes: str = _setting("60/minute", "RATE_QUOTES", "Quotes one user may ask for.")
    rate_bookings: str = _setting("10/minute;60/hour", "RATE_BOOKINGS", "Bookings one user may make.")
    rate_public: str = _setting(
        "120/minute",
        "RATE_PUBLIC",
        "Requests one client address may make to what needs no login: tracking links (/t, /api/v1/track), "
        "driver sign-in pages (/d/login, /d/signed-out), /readyz, /docs, /openapi.json and the sign-in and "
        "sign-up forms.",
    )
    rate_device_auth: str = _setting(
        "20/minute;200/hour",
        "RATE_DEVICE_AUTH",
        "Failed device sign-ins one client address may make (unknown OsmAnd id, wrong OwnTracks or Bearer "
        "device token; the same wrong one again is not counted); past it, every device request from it gets 429.",
    )
    rate_history: str = _setting(
        "60/minute",
        "RATE_HISTORY",
        "History reads and GPX/CSV exports one staff user may ask for (up to 50,000 fixes each).",
    )
    rate_analytics: str = _setting(
        "120/minute",
        "RATE_ANALYTICS",
        "Analytics reads and CSV files one staff user may ask for (the /analytics page asks for 6 per range).",
    )
    rate_places: str = _setting(
        "120/minute",
        "RATE_PLACES",
        "Place searches (one user's, or one driver's on the driver web app's map), and for admins place "
        "changes, imports and exports, one user may make.",
    )
    # --- kafka ---
    kafka_topic_locations: str = _setting(
        "driver-locations", "KAFKA_TOPIC_LOCATIONS", "Topic of driver pings and status changes."
    )
    kafka_partitions: int = _setting(6, "KAFKA_PARTITIONS", "Partitions when hexfleet creates the topic.", 1)
    kafka_fetch_max_wait_ms: int = _setting(
        5,
        "KAFKA_FETCH_MAX_WAIT_MS",
        "Fetch wait of the live consumers. Tansu does not wake a waiting fetch: keep it small there.",
        0,
    )
    kafka_linger_ms: int = _setting(
        10,
        "KAFKA_LINGER_MS",
        "Producer linger: pings from concurrent requests share one produce request. 10 ms halved the broker's CPU "
        "and cut ping-to-stream p99 from 297 to 107 ms at 2,000 pings/s (make bench).",
        0,
    )
    kafka_replication_factor: str = _setting(
        "auto",
        "KAFKA_REPLICATION_FACTOR",
        "Replicas of each topic hexfleet creates, with min.insync.replicas one less (at least 1). auto: 3 when "
        "the cluster has 3 or more brokers, else the broker count. A number above the broker count stops "
        "start-up; /readyz warns when an existing topic has fewer replicas.",
    )
    kafka_security_protocol: str = _setting(
        "PLAINTEXT",
        "KAFKA_SECURITY_PROTOCOL",
        "How every Kafka client connects: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (managed Kafka: SASL_SSL).",
    )
    kafka_sasl_mechanism: str = _setting(
        "",
        "KAFKA_SASL_MECHANISM",
        "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; required with a SASL_ protocol, refused without one.",
    )
    kafka_sasl_username: str = _setting("", "KAFKA_SASL_USERNAME", "SASL user name (with a SASL_ protocol).")
    kafka_sasl_password: str = _setting(
        "", "KAFKA_SASL_PASSWORD", "SASL password (with a SASL_ protocol); never logged or shown.", secret=True
    )
    kafka_ssl_cafile: str = _setting(
        "",
        "KAFKA_SSL_CAFILE",
        "PEM file of the CA that signed the brokers' certificates (SSL, SASL_SSL). Unset: the system's CAs.",
    )
    kafka_ssl_certfile: str = _setting(
        "", "KAFKA_SSL_CERTFILE", "Client certificate (PEM) for brokers that require mutual TLS (SSL, SASL_SSL)."
    )
    kafka_ssl_keyfile: str = _setting(
        "", "KAFKA_SSL_KEYFILE", "Private key (PEM) of KAFKA_SSL_CERTFILE, when the certificate file lacks it."
    )
    tracker_group: str = _setting(
        "hexfleet-tracker", "TRACKER_GROUP", "Consumer group of the tracker (`python -m streaming`)."
    )
    # --- tracking ---
    stale_after_s: float = _setting(60.0, "STALE_AFTER_S", "A driver with no fix for this long is stale (offline).", 1)
    h3_resolution: int = _setting(9, "H3_RESOLUTION", "H3 resolution of the availability index.", 0)
    nearby_max_radius_m: float = _setting(20_000.0, "NEARBY_MAX_RADIUS_M", "Largest radius /drivers/nearby accepts.", 1)
    history_batch_size: int = _setting(
        2000, "HISTORY_BATCH_SIZE", "Most history rows the tracker writes in one batch.", 1
    )
    history_retention_days: int = _setting(
        30, "HISTORY_RETENTION_DAYS", "Position history older than this is pruned by the worker.", 1
    )
    # --- GPS quality filters ---
    filter_future_s: float = _setting(
        600.0, "FILTER_FUTURE_S", "Fixes timestamped more than this ahead of server time are rejected.", 0
    )
    filter_past_s: float = _setting(
        604_800.0, "FILTER_PAST_S", "Fixes older than this are rejected (phones upload buffered fixes).", 0
    )
    filter_max_speed_kmh: float = _setting(
        300.0,
        "FILTER_MAX_SPEED_KMH",
        "A fix implying a faster move from the last accepted one is flagged, not shown live.",
        1,
    )
    filter_max_accuracy_m: float = _setting(
        100.0, "FILTER_MAX_ACCURACY_M", "A fix with a worse accuracy is kept in history, flagged, not shown live.", 1
    )
    # --- phone apps ---
    osmand_port: int = _setting(
        0, "OSMAND_PORT", "Second listener serving the OsmAnd protocol at / (Traccar uses 5055); 0 = off.", 0
    )
    public_url: str = _setting(
        "",
        "PUBLIC_URL",
        "Base URL phones and browsers reach this server at (connection instructions). Default http://HOST:PORT.",
    )
    # --- rides ---
    kafka_topic_bookings: str = _setting(
        "booking-events", "KAFKA_TOPIC_BOOKINGS", "Topic of booking state changes (the outbox relay writes it)."
    )
    kafka_topic_surge: str = _setting("surge", "KAFKA_TOPIC_SURGE", "Topic of surge multiplier changes for live maps.")
    quote_ttl_s: float = _setting(300.0, "QUOTE_TTL_S", "How long a quote holds its price.", 10)
    offer_timeout_s: float = _setting(15.0, "OFFER_TIMEOUT_S", "How long a driver has to accept an offer.", 1)
    dispatch_lead_s: float = _setting(
        600.0, "DISPATCH_LEAD_S", "Dispatch of a scheduled ride starts this long before its pickup time.", 0
    )
    dispatch_ring_m: float = _setting(
        1500.0, "DISPATCH_RING_M", "Dispatch searches in rings: ring n reaches n times this far from the pickup.", 50
    )
    dispatch_max_rings: int = _setting(
        4, "DISPATCH_MAX_RINGS", "Rings searched before a booking finds nobody in reach (see DISPATCH_PATIENCE_S).", 1
    )
    dispatch_patience_s: float = _setting(
        300.0,
        "DISPATCH_PATIENCE_S",
        "How long a booking with nobody in reach keeps searching (again every 10 s) before it becomes no_driver; "
        "booking a quote with no driver near for now needs the rider's confirmation. 0: give up at once.",
        0,
        86400,
    )
    tracking_link_ttl_s: float = _setting(
        7200.0,
        "TRACKING_LINK_TTL_S",
        "A ride's tracking link keeps working this long after the ride ended (completed, cancelled or no driver).",
        0,
    )
    geocoder_url: str = _setting(
        "",
        "GEOCODER_URL",
        "Photon- or Nominatim-compatible geocoder: address search on the booking pages and after the places in "
        "place search, and the address of a ride's end no place is near. Unset: places and coordinates only.",
    )
    place_label_radius_m: float = _setting(
        150.0,
        "PLACE_LABEL_RADIUS_M",
        'A position is named after the nearest active place within this distance ("Alexanderplatz, 60 m"; '
        "within 25 m the name alone); farther, the geocoder's address when GEOCODER_URL is set.",
        10,
        2000,
    )
    driver_link_ttl_s: float = _setting(
        900.0, "DRIVER_LINK_TTL_S", "How long a one-time sign-in link for the driver web app (/d) stays valid.", 30
    )
    driver_session_hours: float = _setting(
        24.0,
        "DRIVER_SESSION_HOURS",
        "Lifetime of a driver web app session (it also ends when the device token rotates).",
        0.1,
    )
    routing_url: str = _setting(
        "", "ROUTING_URL", "OSRM-compatible routing server for trip distance, duration and ETAs. Unset: estimates."
    )
    routing_timeout_s: float = _setting(
        1.0, "ROUTING_TIMEOUT_S", "Longest wait for the routing server before falling back to the estimate.", 0.05
    )
    detour_factor: float = _setting(
        1.3, "DETOUR_FACTOR", "Road distance over great-circle distance, for estimates without ROUTING_URL.", 1
    )
    average_speed_kmh: float = _setting(
        25.0, "AVERAGE_SPEED_KMH", "Average driving speed, for estimates without ROUTING_URL.", 1
    )
    learned_speeds: bool = _setting(
        True,
        "LEARNED_SPEEDS",
        "Estimates drive at speeds learned from the fleet's fixes per H3 cell and hour of week, falling back to "
        "AVERAGE_SPEED_KMH (see ETAs that learn). Off: AVERAGE_SPEED_KMH everywhere, and the worker learns nothing.",
    )
    learned_speeds_min_passes: int = _setting(
        8,
        "LEARNED_SPEEDS_MIN_PASSES",
        "Drives through a cell in an hour of week (over LEARNED_SPEEDS_WEEKS) before its learned speed is used; "
        "fewer: its resolution-7 area, then the city in that hour.",
        1,
    )
    learned_speeds_weeks: int = _setting(
        8, "LEARNED_SPEEDS_WEEKS", "Speeds are learned from this many recent weeks (and positions that still exist).", 1
    )
    learned_speeds_refresh_s: float = _setting(
        300.0, "LEARNED_SPEEDS_REFRESH_S", "Web and worker processes reload the learned speeds this often.", 1
    )
    learned_speeds_tz: str = _setting(
        "UTC", "LEARNED_SPEEDS_TZ", "IANA time zone of the hour of week speeds are learned by (rush hour is local)."
    )
    surge_min: float = _setting(1.0, "SURGE_MIN", "Lowest surge multiplier.", 1)
    surge_max: float = _setting(3.0, "SURGE_MAX", "Highest surge multiplier.", 1)
    surge_resolution: int = _setting(7, "SURGE_RESOLUTION", "H3 resolution of surge cells (7: about 5 km²).", 0)
    surge_window_s: float = _setting(300.0, "SURGE_WINDOW_S", "Quotes this recent count as demand for surge.", 10)
    # --- alerts desk (hexfleet/alerts: the worker evaluates the rules) ---
    alert_every_s: int = _setting(
        10,
        "ALERT_EVERY_S",
        "The worker evaluates the alert rules this often (seconds; a divisor of 60: the cron runs at those "
        "seconds of each minute).",
        1,
        60,
    )
    alert_unassigned_s: float = _setting(
        120.0,
        "ALERT_UNASSIGNED_S",
        "A booking searching or offered this long without a driver (since its search started) raises an alert.",
        10,
    )
    alert_eta_growth_s: float = _setting(
        300.0,
        "ALERT_ETA_GROWTH_S",
        "An assigned driver whose pickup ETA grew by more than this since assignment (elapsed time plus the ETA "
        "from where they are now, against the ETA promised) raises an alert; it clears below half of it.",
        30,
    )
    alert_not_moving_s: float = _setting(
        300.0,
        "ALERT_NOT_MOVING_S",
        "A ride in progress whose driver stayed within ALERT_STILL_RADIUS_M of one spot this long raises an alert.",
        30,
    )
    alert_still_radius_m: float = _setting(
        50.0,
        "ALERT_STILL_RADIUS_M",
        "A driver who stays within this distance of where they stopped has not moved (a parked phone's GPS "
        "wanders 10-30 m).",
        5,
        1000,
    )
    alert_no_driver_soon_s: float = _setting(
        60.0,
        "ALERT_NO_DRIVER_SOON_S",
        "A booking this close to giving up (DISPATCH_PATIENCE_S after its search started) in a cell the outlook "
        "shows short of drivers raises a critical alert.",
        0,
    )
    alert_restricted_wait_s: float = _setting(
        300.0,
        "ALERT_RESTRICTED_WAIT_S",
        "An available driver not moving this long inside a restricted zone raises an alert (once zones exist: "
        "see Alerts desk).",
        30,
    )
    rate_alerts: str = _setting(
        "120/minute",
        "RATE_ALERTS",
        "Alert list reads and acknowledgements one staff user may make (the control room reads the list when it "
        "opens and after its stream reconnects).",
    )
    rate_zones: str = _setting(
        "120/minute",
        "RATE_ZONES",
        "Zone requests one user may make: staff reading and admins changing, importing and exporting zones, and "
        "the rider page's service-area check when a pickup is chosen.",
    )
    # --- hub ---
    hub_max_pending: int = _setting(
        10_000,
        "HUB_MAX_PENDING",
        "Most coalesced drivers one stream subscriber may have waiting before it is dropped.",
        1,
    )
    hub_send_timeout_s: float = _setting(
        15.0, "HUB_SEND_TIMEOUT_S", "A stream client that cannot take a write for this long is dropped.", 0.1
    )
    stream_recheck_s: float = _setting(
        30.0,
        "STREAM_RECHECK_S",
        "An open stream checks its caller's session, token or tracking link again this often; a signed-out, "
        "disabled or revoked caller's stream ends, and so does a replaced or expired link's.",
        0.1,
    )
    # --- dev ---
    data_dir: str = _setting(
        str(ROOT / ".data"), "HEXFLEET_DATA_DIR", "Where `hexfleet dev` keeps embedded services' data."
    )
    log_level: str = _setting("INFO", "LOG_LEVEL", "Logging level.")
    log_json: bool = _setting(False, "LOG_JSON", "Log one JSON object per line (for production log shippers).")

    def __post_init__(self) -> None:
        # Spelled as aiokafka and the brokers spell them, whatever case the environment used.
        object.__setattr__(self, "kafka_security_protocol", self.kafka_security_protocol.strip().upper())
        object.__setattr__(self, "kafka_sasl_mechanism", self.kafka_sasl_mechanism.strip().upper())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dev_stack: bool = False, **overrides) -> Settings:
        """Settings from ``environ`` (default: this process's environment).

        ``dev_stack=True`` is for the command line only (the ``hexfleet`` CLI beside
        ``make run``): with the process's own environment, a running ``hexfleet dev`` in the
        data folder then fills in what is unset (its servers' URLs, its port), so the CLI in a
        second terminal finds the stack by itself; variables that are set always win. A
        production process (web, stream, worker) never passes it: a stray ``dev-stack.json``
        beside a deployment must not point it at a developer's servers.
        """
        env: Mapping[str, str] = os.environ if environ is None else environ
        if environ is None and dev_stack:
            stack = dev_stack_env(Path(env.get("HEXFLEET_DATA_DIR") or ROOT / ".data"))
            if stack:
                env = {**stack, **env}
        values: dict = {}
        for f in fields(cls):
            name = f.metadata["env"]
            if name not in env:
                continue
            raw = env[name]
            if f.type in ("bool", bool):
                values[f.name] = _bool(name, raw)
            elif f.type in ("int", int):
                values[f.name] = int(_number(name, raw, int, f.metadata["min"], f.metadata["max"]))
            elif f.type in ("float", float):
                values[f.name] = float(_number(name, raw, float, f.metadata["min"], f.metadata["max"]))
            else:
                values[f.name] = raw.strip()
        values.update(overrides)
        settings = cls(**values)
        settings.map_center_latlng()  # validate early
        settings.surge_rules()
        settings.rate_rules()
        settings.speed_zone()
        settings.alert_rules()
        replication_factor_setting(settings.kafka_replication_factor)
        settings.check_kafka_security()
        return settings

    def filter_rules(self):
        from hexfleet.tracking.filters import FilterRules

        return FilterRules(
            self.filter_future_s, self.filter_past_s, self.filter_max_speed_kmh, self.filter_max_accuracy_m
        )

    def surge_rules(self):
        from hexfleet.rides.surge import SurgeRules

        if self.surge_max < self.surge_min:
            raise SettingsError("SURGE_MAX must not be below SURGE_MIN")
        return SurgeRules(min_tenths=round(self.surge_min * 10), max_tenths=round(self.surge_max * 10))

    def speed_zone(self):
        """LEARNED_SPEEDS_TZ as a ZoneInfo; an unknown name stops the process at start-up."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(self.learned_speeds_tz.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"LEARNED_SPEEDS_TZ must be an IANA time zone such as Europe/Berlin, not {self.learned_speeds_tz!r}"
            ) from None

    def alert_rules(self):
        """The alert desk's thresholds (hexfleet.alerts.rules.AlertRules); ALERT_EVERY_S must divide a minute."""
        from hexfleet.alerts.rules import AlertRules

        if 60 % self.alert_every_s:
            raise SettingsError(
                f"ALERT_EVERY_S must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60), not {self.alert_every_s}"
            )
        return AlertRules(
            unassigned_s=self.alert_unassigned_s,
            stale_after_s=self.stale_after_s,
            eta_growth_s=self.alert_eta_growth_s,
            not_moving_s=self.alert_not_moving_s,
            still_radius_m=self.alert_still_radius_m,
            no_driver_soon_s=self.alert_no_driver_soon_s,
            patience_s=self.dispatch_patience_s,
            restricted_wait_s=self.alert_restricted_wait_s,
        )

    def estimate_rules(self):
        from hexfleet.rides.routes import EstimateRules

        return EstimateRules(self.detour_factor, self.average_speed_kmh)

    def rate_rules(self) -> dict[str, list]:
        """Each RATE_* setting parsed (limits' syntax); a bad one stops the process at start-up."""
        from limits import parse_many

        rules = {}
        for f in fields(self):
            if f.name.startswith("rate_"):
                try:
                    rules[f.name.removeprefix("rate_")] = parse_many(getattr(self, f.name))
                except ValueError:
                    raise SettingsError(
                        f"{f.metadata['env']} must look like 10/minute or 10/minute;100/hour, "
                        f"not {getattr(self, f.name)!r}"
                    ) from None
        return rules

    def check_kafka_security(self) -> None:
        """Refuse Kafka security settings that cannot work together, before any client tries them
        (a client would otherwise fail on its first connection, or quietly skip TLS or SASL)."""
        protocol = self.kafka_security_protocol
        if protocol not in KAFKA_PROTOCOLS:
            raise SettingsError(
                f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(KAFKA_PROTOCOLS)}, "
                f"not {self.kafka_security_protocol!r}"
            )
        mechanism = self.kafka_sasl_mechanism
        if mechanism and mechanism not in KAFKA_SASL_MECHANISMS:
            raise SettingsError(
                f"KAFKA_SASL_MECHANISM must be one of {', '.join(KAFKA_SASL_MECHANISMS)}, "
                f"not {self.kafka_sasl_mechanism!r}"
            )
        sasl = {
            "KAFKA_SASL_MECHANISM": mechanism,
            "KAFKA_SASL_USERNAME": self.kafka_sasl_username,
            "KAFKA_SASL_PASSWORD": self.kafka_sasl_password,
        }
        if protocol.startswith("SASL_"):
            missing = [name for name, value in sasl.items() if not value]
            if missing:
                raise SettingsError(
                    f"KAFKA_SECURITY_PROTOCOL={protocol} needs {', '.join(missing)}"
                    + (f" (the mechanism: {', '.join(KAFKA_SASL_MECHANISMS)})" if not mechanism else "")
                )
        else:
            stray = [name for name, value in sasl.items() if value]
            if stray:
                raise SettingsError(
                    f"{', '.join(stray)} set, but KAFKA_SECURITY_PROTOCOL={protocol} does not use SASL: "
                    "set it to SASL_SSL (or SASL_PLAINTEXT), or unset them"
                )
        files = {
            "KAFKA_SSL_CAFILE": self.kafka_ssl_cafile,
            "KAFKA_SSL_CERTFILE": self.kafka_ssl_certfile,
            "KAFKA_SSL_KEYFILE": self.kafka_ssl_keyfile,
        }
        given = {name: path for name, path in files.items() if path}
        if given and protocol not in ("SSL", "SASL_SSL"):
            raise SettingsError(
                f"{', '.join(given)} set, but KAFKA_SECURITY_PROTOCOL={protocol} does not use TLS: "
                "set it to SSL or SASL_SSL, or unset them"
            )
        if self.kafka_ssl_keyfile and not self.kafka_ssl_certfile:
            raise SettingsError("KAFKA_SSL_KEYFILE set without KAFKA_SSL_CERTFILE (the certificate it belongs to)")
        for name, path in given.items():
            _readable_file(name, path)

    def allowed_origins_list(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.allowed_origins.split(",") if o.strip())

    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    def map_center_latlng(self) -> tuple[float, float]:
        try:
            lat_s, lng_s = self.map_center.split(",")
            lat, lng = float(lat_s), float(lng_s)
        except ValueError:
            raise SettingsError(f"MAP_CENTER must be lat,lng, not {self.map_center!r}") from None
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise SettingsError(f"MAP_CENTER is out of range: {self.map_center!r}")
        return lat, lng

    def require_services(self) -> None:
        """Fail with one clear message when a process starts without its servers."""
        missing = [
            n
            for n, v in (
                ("DATABASE_URL", self.database_url),
                ("REDIS_URL", self.redis_url),
                ("KAFKA_BOOTSTRAP_SERVERS", self.kafka_bootstrap_servers),
            )
            if not v
        ]
        if missing:
            raise SettingsError(_not_running(", ".join(missing), "your PostgreSQL, Redis and Kafka"))

    def require_database(self) -> None:
        """For commands that only touch PostgreSQL (migrate, users, drivers)."""
        if not self.database_url:
            raise SettingsError(_not_running("DATABASE_URL", "your PostgreSQL"))

    def require_secret_key(self) -> str:
        """The session signing key. Required: a per-process random key would make a login
        work only on the worker that issued it, and not survive a restart. Refused below 32
        bytes of estimated entropy (hexfleet.security.secret_key_bits says how it is estimated):
        whoever guesses it can sign anyone's session cookie, CSRF token and tracking link."""
        if not self.secret_key:
            raise SettingsError(
                "SECRET_KEY not set: every web process must sign sessions with the same key "
                "(`hexfleet dev` creates one in the data folder; in production set a long random value)"
            )
        from hexfleet.security import MIN_SECRET_KEY_BITS, secret_key_bits

        bits = secret_key_bits(self.secret_key)
        if bits < MIN_SECRET_KEY_BITS:
            raise SettingsError(
                f"SECRET_KEY is too weak: about {int(bits)} bits of entropy, at least {MIN_SECRET_KEY_BITS} "
                "(32 random bytes) needed; make one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return self.secret_key


def replication_factor_setting(raw: str) -> int | None:
    """KAFKA_REPLICATION_FACTOR as a number; None for auto (the cluster's size decides)."""
    value = raw.strip().lower()
    if value in ("", "auto"):
        return None
    try:
        factor = int(value)
    except ValueError:
        factor = 0
    if factor < 1:
        raise SettingsError(f"KAFKA_REPLICATION_FACTOR must be auto or a number of at least 1, not {raw!r}")
    return factor


def _readable_file(name: str, path: str) -> None:
    file = Path(path)
    if not file.exists():
        raise SettingsError(f"{name}: no such file: {path}")
    if not file.is_file():
        raise SettingsError(f"{name}: not a file: {path}")
    try:
        with file.open("rb"):
            pass
    except OSError as error:
        raise SettingsError(f"{name}: cannot read {path} ({error.strerror})") from None


def _not_running(names: str, servers: str) -> str:
    return (
        f"{names} not set and `make run` is not running in this checkout: start it in another terminal "
        f"(the command line then finds its servers), or point the variables at {servers}."
    )


# --- the running `hexfleet dev`, for commands in other terminals -------------------------

DEV_STACK_FILE = "dev-stack.json"
# What a running `hexfleet dev` tells other commands: the servers it started and where it serves.
DEV_STACK_VARIABLES = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "HOST", "PORT", "PUBLIC_URL")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    # After a crash the pid may have been reused: on Linux, make sure it is still hexfleet.
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"hexfleet" in cmdline.read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pid


def dev_stack_env(data_dir: Path) -> dict[str, str]:
    """The variables a running `hexfleet dev` wrote into ``data_dir``; {} when none runs there."""
    try:
        raw = json.loads((Path(data_dir) / DEV_STACK_FILE).read_text())
        pid, env = int(raw["pid"]), raw["env"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(env, dict) or not _alive(pid):
        return {}
    return {k: str(v) for k, v in env.items() if k in DEV_STACK_VARIABLES and v}


def write_dev_stack(data_dir: Path, env: Mapping[str, str], processes: Mapping[str, int] | None = None) -> Path:
    """Record this process as the running `hexfleet dev` (atomically; readable by this user only),
    with the pids of the processes it runs."""
    path = Path(data_dir) / DEV_STACK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(
            {
                "pid": os.getpid(),
                "env": {k: env[k] for k in DEV_STACK_VARIABLES if env.get(k)},
                "processes": dict(processes or {}),
            },
            f,
        )
    tmp.replace(path)
    return path


def remove_dev_stack(data_dir: Path) -> None:
    """Forget the record, if it is this process's own."""
    path = Path(data_dir) / DEV_STACK_FILE
    try:
        if int(json.loads(path.read_text())["pid"]) == os.getpid():
            path.unlink()
    except (OSError, ValueError, KeyError, TypeError):
        pass


def documented_settings() -> list[tuple[str, str, str]]:
    """(ENV_NAME, default, description) for every setting: the README's configuration table."""
    return [(f.metadata["env"], str(f.default), f.metadata["doc"]) for f in fields(Settings)]
