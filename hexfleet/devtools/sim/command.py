"""``hexfleet simulate``: demo drivers that drive around the map, post pings and take
rides, and demo riders who book them.

This module is the command line only: options, their checks, and ``run``. The run loop
lives in ``hexfleet.devtools.sim.runner``.
"""

from __future__ import annotations

import asyncio
import math

from hexfleet.devtools.sim.config import SimConfig
from hexfleet.devtools.sim.demand import accounts_needed
from hexfleet.devtools.sim.runner import simulate
from hexfleet.errors import Invalid
from hexfleet.settings import SettingsError


def configure(parser) -> None:
    parser.add_argument("--drivers", type=int, default=50, metavar="N", help="demo drivers (default 50)")
    parser.add_argument(
        "--interval", type=float, default=2.0, metavar="S", help="seconds between one driver's pings (default 2)"
    )
    parser.add_argument(
        "--duration", type=float, default=0.0, metavar="S", help="stop after S seconds (default 0: until Ctrl-C)"
    )
    parser.add_argument(
        "--center",
        metavar="LAT,LNG",
        help="centre of the area (default MAP_CENTER); for a negative latitude write --center=-33.87,151.21",
    )
    parser.add_argument("--radius-km", type=float, default=4.0, metavar="R", help="radius of the area (default 4)")
    parser.add_argument("--url", help="base URL of the web app (default http://127.0.0.1:PORT)")
    parser.add_argument("--seed", type=int, help="seed for reproducible routes (default: random)")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar; print a summary line every 30 s instead"
    )
    rides = parser.add_argument_group("rides")
    rides.add_argument(
        "--rides-per-minute",
        type=float,
        default=6.0,
        metavar="R",
        help="demo riders book about R rides a minute (default 6; 0: no riders, drivers still take rides)",
    )
    rides.add_argument(
        "--scheduled-share",
        type=float,
        default=0.2,
        metavar="F",
        help="share of rides booked for 20-40 minutes ahead (default 0.2)",
    )
    rides.add_argument(
        "--accept-share", type=float, default=0.85, metavar="F", help="share of offers drivers accept (default 0.85)"
    )
    rides.add_argument(
        "--cancel-share",
        type=float,
        default=0.1,
        metavar="F",
        help="share of riders who cancel when their driver is slow to come (default 0.1)",
    )


def parse_center(text: str) -> tuple[float, float]:
    """(lat, lng) from "LAT,LNG"; a one-line Invalid for anything else."""
    try:
        lat_s, lng_s = text.split(",")
        lat, lng = float(lat_s), float(lng_s)
    except ValueError:
        raise Invalid(f"--center must be lat,lng (e.g. 52.52,13.405), not {text!r}") from None
    if not (-85 <= lat <= 85 and -180 <= lng <= 180):
        raise Invalid(f"--center is out of range (latitude ±85, longitude ±180): {text!r}")
    return lat, lng


def config_from_args(args, settings) -> SimConfig:
    """Validate the arguments, filling defaults from settings."""
    if not 1 <= args.drivers <= 10_000:
        raise Invalid(f"--drivers must be between 1 and 10000, not {args.drivers}")
    if not (0.1 <= args.interval <= 3600 and math.isfinite(args.interval)):
        raise Invalid(f"--interval must be between 0.1 and 3600 seconds, not {args.interval}")
    if not (args.duration >= 0 and math.isfinite(args.duration)):
        raise Invalid(f"--duration must be 0 (run until Ctrl-C) or a positive number, not {args.duration}")
    if not 0.1 <= args.radius_km <= 50:
        raise Invalid(f"--radius-km must be between 0.1 and 50, not {args.radius_km}")
    if not 0 <= args.rides_per_minute <= 600:  # also refuses nan
        raise Invalid(f"--rides-per-minute must be between 0 (no riders) and 600, not {args.rides_per_minute}")
    for option in ("scheduled_share", "accept_share", "cancel_share"):
        value = getattr(args, option)
        if not 0 <= value <= 1:
            raise Invalid(f"--{option.replace('_', '-')} must be between 0 and 1, not {value}")
    center = parse_center(args.center) if args.center is not None else settings.map_center_latlng()
    url = (args.url or f"http://127.0.0.1:{settings.port}").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise Invalid(f"--url must start with http:// or https://, not {url!r}")
    return SimConfig(
        drivers=args.drivers,
        interval=args.interval,
        duration=args.duration,
        center=center,
        radius_m=args.radius_km * 1000,
        url=url,
        seed=args.seed,
        progress=not args.no_progress,
        rides_per_minute=args.rides_per_minute,
        scheduled_share=args.scheduled_share,
        accept_share=args.accept_share,
        cancel_share=args.cancel_share,
        rider_accounts=accounts_needed(args.rides_per_minute, booking_budgets(settings)),
        redis_url=settings.redis_url or None,
    )


def booking_budgets(settings) -> list[tuple[int, float]]:
    """(amount, seconds) of every tier of the per-user quote and booking limits."""
    rules = settings.rate_rules()
    return [(item.amount, item.get_expiry()) for name in ("quotes", "bookings") for item in rules.get(name, [])]


def run(args, settings) -> int:
    config = config_from_args(args, settings)
    if not settings.database_url:
        raise SettingsError(
            "DATABASE_URL not set: the simulator creates its demo drivers in PostgreSQL. "
            "Run it under `hexfleet dev`, or point DATABASE_URL at the app's database."
        )
    try:
        return asyncio.run(simulate(config, settings.database_url))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 130
