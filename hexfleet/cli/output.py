"""Printing results: human lines by default, one JSON object with --json."""

from __future__ import annotations

import orjson


def emit(payload: dict, as_json: bool, human: str) -> None:
    if as_json:
        print(orjson.dumps(payload).decode())
    else:
        print(human)
