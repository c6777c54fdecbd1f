"""Printing results: human lines by default, one JSON object with --json."""

from __future__ import annotations

from collections.abc import Sequence

import orjson


def emit(payload: dict, as_json: bool, human: str) -> None:
    if as_json:
        print(orjson.dumps(payload).decode())
    else:
        print(human)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()) -> str:
    """Columns padded to their widest cell; ``right`` aligns those columns' cells to the right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])
