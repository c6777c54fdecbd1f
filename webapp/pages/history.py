"""The history page: pick a driver and a range, see the track, its stops and speeds, replay it.

GET /history?driver_id=&from=&to=&tz= . ``from`` and ``to`` are the form's wall times
(``datetime-local``) in ``tz``, the dispatcher's IANA zone, which static/js/history.js fills
in from the browser. With a zone, this view turns the wall times into instants (default:
local midnight until now) and the page asks /api/v1/drivers/<id>/history for them; without
one (the first visit, from the control room's History link) the script does the same with
the browser's clock and zone. The map, player and summary are drawn by the script.

The JSON API and the exports live in webapp/api/history.py; this module registers them, so
the app's blueprint list carries one line for history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from quart import Blueprint, render_template, request
from quart_schema import hide

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.queries import Driver
from hexfleet.errors import NotFound
from hexfleet.tracking import replay, timerange
from hexfleet.users.roles import STAFF
from webapp.api import history as history_api
from webapp.auth import current_user, page_role_required
from webapp.services import services

bp = Blueprint("history_page", __name__)
bp.register_blueprint(history_api.bp)

NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
MAX_ID_DIGITS = 18  # a bigint has 19; anything longer names no driver


@dataclass(frozen=True)
class RangeView:
    """What the form shows and, when the zone is known, the instants the script asks for."""

    from_local: str = ""  # datetime-local values, as the inputs take them
    to_local: str = ""
    tz: str = ""
    start: str = ""  # RFC 3339 UTC; empty: the script works them out in the browser
    end: str = ""
    error: str = ""


def _driver_id(raw: str) -> int | None:
    raw = raw.strip()
    if raw.isascii() and raw.isdecimal() and len(raw) <= MAX_ID_DIGITS:
        return int(raw)
    return None


def _local_text(moment: datetime, tz) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def resolve_form(from_text: str, to_text: str, tz_name: str, now: datetime) -> RangeView:
    """The form's wall times in the dispatcher's zone, as instants; defaults: today so far."""
    tz = timerange.zone(tz_name)
    from_wall = timerange.parse_local(from_text) if from_text else None
    to_wall = timerange.parse_local(to_text) if to_text else None
    bad = [name for name, text, wall in (("From", from_text, from_wall), ("To", to_text, to_wall)) if text and not wall]
    if bad:
        return RangeView(error=f"{' and '.join(bad)}: not a date and time (like 2024-05-01T08:00).")
    if tz is None:
        # The script fills in the zone (and, when these are empty, today so far) and asks again.
        return RangeView(from_text.strip() if from_wall else "", to_text.strip() if to_wall else "")
    try:
        end = timerange.local_instant(to_wall, tz) if to_wall else now
        start = timerange.local_instant(from_wall, tz) if from_wall else timerange.local_midnight(now, tz)
        span = timerange.resolve(start, end, now)
    except timerange.BadRange as error:
        return RangeView(from_text.strip(), to_text.strip(), tz_name, error=_sentence(error.detail))
    return RangeView(
        _local_text(span.start, tz),
        _local_text(span.end, tz),
        tz_name,
        timerange.rfc3339(span.start),
        timerange.rfc3339(span.end),
    )


def _sentence(text: str) -> str:
    text = text.replace("from must be before to", "From must be before To")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


@bp.get("/history")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF)
async def history_page() -> tuple[str, int, dict[str, str]]:
    svc = services()
    pool, settings = svc.db, svc.settings
    args = request.args
    raw_id = (args.get("driver_id") or "")[:100]
    driver_id = _driver_id(raw_id) if raw_id else None
    status = 200
    notice = ""
    selected: Driver | None = None
    async with pool.acquire() as conn:
        drivers = await driver_queries.list_drivers(conn)
        if driver_id is not None:
            try:
                selected = await driver_queries.get_driver(conn, driver_id)
            except NotFound:
                status, notice = 404, f"There is no driver #{driver_id}. Pick one from the list."
    if raw_id and driver_id is None:
        status, notice = 400, "That is not a driver id. Pick a driver from the list."
    if selected is not None and all(d.id != selected.id for d in drivers):
        drivers = [*drivers, selected]  # deactivated: its history is kept, and shown
    span = resolve_form(
        (args.get("from") or "")[:40], (args.get("to") or "")[:40], (args.get("tz") or "")[:64], datetime.now(UTC)
    )
    if span.error and status == 200:
        status = 400
    center_lat, center_lng = settings.map_center_latlng()
    html = await render_template(
        "history.html",
        user=await current_user(),
        drivers=drivers,
        selected=selected,
        span=span,
        notice=notice,
        max_days=timerange.MAX_RANGE.days,
        max_fixes=timerange.MAX_FIXES,
        bands=[label for _, label in replay.BANDS],
        map_config={
            "tile_url": settings.map_tile_url,
            "tile_attribution": settings.map_tile_attribution,
            "center_lat": center_lat,
            "center_lng": center_lng,
        },
    )
    return html, status, NO_STORE
