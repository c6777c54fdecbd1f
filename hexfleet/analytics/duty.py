"""Duty history: what the tracker observes about a driver → rows of ``duty_history`` (pure).

A driver's working state has three parts: the **duty** they (or a dispatcher, or ride
dispatch) chose — available, busy, off duty; whether they are **online** — a fix came within
STALE_AFTER_S, judged by server time like the control room does; and the **cell** (H3
resolution 7) of their last accepted fix. Three observations change it:

- ``duty``: a status event from the locations topic (its time is the change's);
- ``stale``: no accepted fix for STALE_AFTER_S; it starts exactly STALE_AFTER_S after the last
  fix, whoever notices (the tracker's fix path on the next fix, or its sweep while the driver
  stays silent), so both write the same row;
- ``seen``: an accepted fix after being offline (a row with source ``back``), or in another
  cell (``moved``). Other fixes are not observations at all.

A row starts at each observation (the tracker observes only what may change the state) and
lasts until the next row. Its
``status`` is what the time counts as: the duty, or ``stale`` while offline (an off-duty
driver is off duty either way). Rows are keyed by (driver, instant): redelivered records
recompute the same rows, which are then no-ops. A row that arrives late (a status event
produced a moment after a fix, a sweep and a fix racing) is put in its place and the rows
after it are worked out again from it (``refold``), so later rows never keep a state the
late row changed.

Which cell a working interval counts in: the cell of the fix that started the row, and a
new row whenever an accepted fix lands in another resolution-7 cell (about 2.4 km across, 5 km²).
So an hour of a driver crossing town is split between the cells it was driven in, at the
cost of a row per cell crossed; counting the whole interval in the cell where the driver
went online would put the whole evening of a driver who started at the depot into the depot's cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

AVAILABLE, BUSY, OFF_DUTY, STALE = "available", "busy", "off_duty", "stale"
DUTIES = frozenset({AVAILABLE, BUSY, OFF_DUTY})
DUTY, SEEN = "duty", "seen"  # observation kinds (and STALE)
BACK, MOVED = "back", "moved"  # the sources a "seen" row gets


def at(ts: float) -> datetime:
    """Epoch seconds → the instant rows are keyed by (microseconds, as PostgreSQL keeps them)."""
    return datetime.fromtimestamp(ts, UTC)


@dataclass(frozen=True)
class Observation:
    driver_id: int
    at: datetime
    kind: str  # duty | stale | seen
    duty: str | None = None  # for duty
    cell: int | None = None  # for seen


@dataclass(frozen=True)
class State:
    duty: str
    online: bool
    cell: int | None

    @property
    def status(self) -> str:
        return self.duty if self.online or self.duty == OFF_DUTY else STALE


@dataclass(frozen=True)
class Row:
    driver_id: int
    started_at: datetime
    status: str
    duty: str
    online: bool
    cell: int | None
    vehicle_class: str
    source: str  # duty | stale | back | moved
    ended_at: datetime | None = None

    @property
    def state(self) -> State:
        return State(self.duty, self.online, self.cell)

    def as_observation(self) -> Observation:
        """What made this row, worked out from it: its own duty for a duty row, its cell for a fix."""
        if self.source == DUTY:
            return Observation(self.driver_id, self.started_at, DUTY, duty=self.duty)
        if self.source == STALE:
            return Observation(self.driver_id, self.started_at, STALE)
        return Observation(self.driver_id, self.started_at, SEEN, cell=self.cell)


def apply(state: State, obs: Observation) -> tuple[State, str]:
    """The state after an observation, and the source of the row it would start."""
    if obs.kind == DUTY:
        return replace(state, duty=obs.duty or state.duty), DUTY
    if obs.kind == STALE:
        return replace(state, online=False), STALE
    source = MOVED if state.online else BACK
    return State(state.duty, True, obs.cell if obs.cell is not None else state.cell), source


def refold(
    driver_id: int,
    start: State,
    existing: list[Row],
    new: Iterable[Observation],
    vehicle_class: str,
) -> list[Row]:
    """The driver's rows from the earliest new observation on.

    ``start`` is the state before it (the row before, or the driver's duty with no row yet),
    ``existing`` the stored rows from that instant on, in order. A stored row at the same
    instant as a new observation wins (a redelivery). Every observation keeps its row, even
    one that changes nothing when it arrives: an earlier one arriving later may make it a
    change (a fix after a stale row written late), and the rows must come out the same
    whatever order they arrived in. Rows come back in order, each ended by the next, the last
    one open. (The tracker observes only what may be a change: a gap, another cell, a status
    event; so rows that repeat a state are few.)"""
    taken = {r.started_at for r in existing}
    items: list[tuple[datetime, int, Observation, Row | None]] = [
        (r.started_at, 0, r.as_observation(), r) for r in existing
    ]
    fresh: dict[datetime, Observation] = {}
    for obs in new:
        if obs.at not in taken:
            fresh[obs.at] = obs  # two at one instant: the later one read wins
    items += [(t, 1, obs, None) for t, obs in fresh.items()]
    items.sort(key=lambda item: (item[0], item[1]))
    state = start
    out: list[Row] = []
    for instant, _, obs, stored in items:
        after, source = apply(state, obs)
        out.append(
            Row(
                driver_id,
                instant,
                after.status,
                after.duty,
                after.online,
                after.cell,
                stored.vehicle_class if stored is not None else vehicle_class,
                source,
            )
        )
        state = after
    return [replace(r, ended_at=out[i + 1].started_at if i + 1 < len(out) else None) for i, r in enumerate(out)]


# ---------------------------------------------------------------- what the tracker observes


@dataclass(frozen=True)
class LastSeen:
    """A driver's last accepted fix: server time (epoch seconds) and its resolution-7 cell."""

    received_at: float
    cell: int


def from_records(
    driver_id: int,
    last: LastSeen | None,
    records: Iterable[tuple[str, float, object]],
    stale_after_s: float,
) -> list[Observation]:
    """Observations from one driver's records of a batch, in the order read.

    ``records``: ("fix", server time, resolution-7 cell) for each accepted fix, ("duty",
    time, status) for each status event. ``last``: the driver's last accepted fix before
    the batch (None: never seen). A gap longer than ``stale_after_s`` before a fix or a status
    event means the driver went stale STALE_AFTER_S after the fix before it."""
    out: list[Observation] = []
    for kind, ts, value in records:
        if last is not None and ts - last.received_at > stale_after_s:
            out.append(Observation(driver_id, at(last.received_at + stale_after_s), STALE))
            if kind == "duty":
                last = None  # its stale start is written; a later gap starts from a fix
        if kind == "fix":
            cell = int(value)  # type: ignore[call-overload]
            if last is None or ts - last.received_at > stale_after_s or cell != last.cell:
                out.append(Observation(driver_id, at(ts), SEEN, cell=cell))
            last = LastSeen(ts, cell)
        elif kind == "duty" and value in DUTIES:
            out.append(Observation(driver_id, at(ts), DUTY, duty=str(value)))
    return out


@dataclass(frozen=True)
class OpenRow:
    started_at: datetime
    online: bool


def from_sweep(
    current: Mapping[int, OpenRow | None],
    seen: Mapping[int, LastSeen],
    now: float,
    stale_after_s: float,
    margin_s: float,
) -> list[Observation]:
    """What the tracker's sweep finds: online drivers who went silent, and drivers the history
    has as offline (or has no row of) whose fresh fix it missed.

    ``current``: each driver's open row (None: no row yet); ``seen``: last accepted fixes
    (from Redis). A driver counts as silent only ``margin_s`` after STALE_AFTER_S, so a fix
    still on its way through Kafka is read first; the row still starts at last fix +
    STALE_AFTER_S, as the fix path would write it."""
    out: list[Observation] = []
    for driver_id, row in current.items():
        fix = seen.get(driver_id)
        if row is not None and row.online:
            last = fix.received_at if fix is not None else row.started_at.timestamp()
            if now - last > stale_after_s + margin_s:
                out.append(Observation(driver_id, at(last + stale_after_s), STALE))
        elif fix is not None and now - fix.received_at <= stale_after_s:
            if row is None or at(fix.received_at) > row.started_at:
                out.append(Observation(driver_id, at(fix.received_at), SEEN, cell=fix.cell))
    return out


def initial_state(duty: str) -> State:
    """A driver with no row yet: their duty as stored, offline until a fix says otherwise."""
    return State(duty if duty in DUTIES else OFF_DUTY, False, None)


def affected_since(rows: list[Row], existing: list[Row]) -> datetime | None:
    """The earliest instant whose time counts differently after a refold: where the first
    new or changed row starts (None: nothing changed)."""
    before = {r.started_at: r for r in existing}
    for row in rows:
        old = before.get(row.started_at)
        if old is None or old.state != row.state or old.status != row.status:
            return row.started_at
    return None
