"""Recalculate surge for every active cell (the worker's cron job, every 30 s)."""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from hexfleet.geo import disk, parent_cell
from hexfleet.rides import queries as q
from hexfleet.rides.fares import SURGE_NONE
from hexfleet.rides.surge import SurgeRules, next_tenths
from hexfleet.rides.surge_index import SurgeIndex
from hexfleet.settings import Settings
from hexfleet.tracking.store import LiveStore


class SurgePublisher(Protocol):
    """Tells every web process which cells changed (their maps redraw the surge layer)."""

    async def surge_changed(self, changes: dict[int, int], at: float) -> None: ...


async def recalculate(
    pool, store: LiveStore, surge: SurgeIndex, publisher: SurgePublisher, settings: Settings, now: float
) -> dict[int, int]:
    """New multipliers for cells with demand or a surge to decay; returns the changed ones.

    Writes the multipliers to Redis for quotes (only changes), every computed cell to
    ``surge_history`` for analytics, and publishes the changes for live maps.
    """
    rules: SurgeRules = settings.surge_rules()
    resolution = settings.surge_resolution
    indexed = await store.indexed_cells(now - settings.stale_after_s)
    supply = Counter(parent_cell(cell, resolution) for cell in indexed.values())
    async with pool.acquire() as conn:
        demand = Counter(await q.open_demand(conn))
        demand.update(await q.recent_quote_demand(conn, now - settings.surge_window_s))
    previous = await surge.all()
    changes: dict[int, int] = {}
    history: list[tuple[int, float, int, int, int]] = []
    for cell in sorted(set(demand) | set(previous)):
        ring = disk(cell, 1)  # a cell and its neighbours: drivers a few minutes away count as supply
        wanted, offered = sum(demand[c] for c in ring), sum(supply[c] for c in ring)
        before = previous.get(cell, SURGE_NONE)
        after = next_tenths(wanted, offered, before, rules)
        history.append((cell, now, after, wanted, offered))
        if after != before:
            changes[cell] = after
    await surge.replace(changes)
    async with pool.acquire() as conn:
        await q.insert_surge_history(conn, history)
    if changes:
        await publisher.surge_changed(changes, now)
    return changes
