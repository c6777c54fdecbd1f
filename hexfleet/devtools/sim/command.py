"""``hexfleet simulate``: demo drivers that drive around the map and post pings.

This module is the command line only: options, their checks, and ``run``. The drivers,
their pings and the progress output live in ``hexfleet.devtools.sim.runner``.
"""

from __future__ import annotations

import asyncio
import math

from hexfleet.devtools.sim.runner import SimConfig, simulate
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
    )


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
