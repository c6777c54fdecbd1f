"""The ``hexfleet`` command.

Each subcommand lives in its own module under ``hexfleet.cli`` exposing
``configure(parser)`` and ``run(args, settings) -> int``. Modules are imported only
when their command runs, so ``hexfleet migrate`` does not pay for the simulator.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from hexfleet.errors import DomainError
from hexfleet.settings import Settings, SettingsError

COMMANDS = {
    "dev": ("hexfleet.cli.dev", "start embedded services if needed, migrate, seed the demo and run everything"),
    "migrate": ("hexfleet.cli.migrate", "apply pending database migrations"),
    "users": ("hexfleet.cli.users", "manage users (add)"),
    "drivers": ("hexfleet.cli.drivers", "manage drivers (add, show, rotate)"),
    "seed-demo": ("hexfleet.cli.seed", "create the demo logins (idempotent)"),
    "simulate": ("hexfleet.cli.simulate", "drive simulated drivers that post pings"),
    "bench": ("hexfleet.cli.bench", "measure ingest throughput and ping-to-stream latency"),
}


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen command's module is imported to configure its options."""
    parser = argparse.ArgumentParser(prog="hexfleet", description="hexfleet: real-time driver tracking and dispatch")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            importlib.import_module(module).configure(command_parser)
        command_parser.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(chosen if chosen in COMMANDS else None).parse_args(argv)
    try:
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
