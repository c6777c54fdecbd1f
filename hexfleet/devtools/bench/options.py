"""`hexfleet bench`'s options (the rides phases add theirs from rides.py)."""

from __future__ import annotations

import argparse

from hexfleet.devtools.bench import rides

WEB_APP = "webapp:create_app"


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {raw}")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {raw}")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {raw}")
    return value


def configure(parser) -> None:
    parser.add_argument("--duration", type=_positive_int, default=10, metavar="S", help="seconds per wrk phase (10)")
    parser.add_argument("--web-workers", type=_positive_int, default=1, metavar="N", help="uvicorn workers (1)")
    parser.add_argument("--drivers", type=_positive_int, default=2000, metavar="N", help="bench fleet size (2000)")
    # A fleet is thousands of phones, each with its own connection: unary ingest is driven
    # with many concurrent requests; batches are few and large.
    parser.add_argument(
        "--connections", type=_positive_int, default=256, metavar="N", help="wrk connections, unary phases (256)"
    )
    parser.add_argument(
        "--batch-connections", type=_positive_int, default=64, metavar="N", help="wrk connections, batched phases (64)"
    )
    parser.add_argument("--threads", type=_positive_int, default=2, metavar="N", help="wrk threads (2)")
    parser.add_argument("--batch-size", type=_positive_int, default=100, metavar="N", help="pings per batch (100)")
    parser.add_argument("--warmup", type=float, default=2.0, metavar="S", help="wrk warm-up before each phase (2)")
    parser.add_argument("--sse-clients", type=_positive_int, default=500, metavar="N", help="SSE clients (500)")
    parser.add_argument(
        "--sse-dispatchers",
        type=_non_negative_int,
        default=10,
        metavar="N",
        help="of which unfiltered dispatcher maps (10)",
    )
    parser.add_argument("--sse-rate", type=_positive_float, default=2000.0, metavar="R", help="pings/s (2000)")
    parser.add_argument("--sse-duration", type=_positive_float, default=20.0, metavar="S", help="window (20)")
    parser.add_argument("--sse-warmup", type=float, default=3.0, metavar="S", help="load before the window (3)")
    parser.add_argument("--sse-readers", type=_positive_int, default=2, metavar="N", help="reader processes (2)")
    parser.add_argument(
        "--web-app",
        default=WEB_APP,
        metavar="MODULE:FACTORY",
        help=f"app factory uvicorn runs (default {WEB_APP}): compare a variant of the app",
    )
    parser.add_argument("--skip-ingest", action="store_true", help="skip the wrk phases on the real server")
    parser.add_argument("--skip-sse", action="store_true", help="skip the ping→SSE latency phase")
    parser.add_argument("--skip-bare", action="store_true", help="skip the bare-server ceiling")
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the hexfleet_bench database, Redis db 15 and the logs"
    )
    rides.configure(parser)
