"""Zones for admins (/admin/zones): the editor. Service areas, airports, restricted zones and
custom zones are drawn, edited, moved and deleted on a map (Leaflet-Geoman), their name, kind,
colour, active flag and the kind's rules set in a side form; import and export are GeoJSON.

This page only serves the shell: the zones come from and go to the zones API
(/api/v1/zones, webapp/api/zones.py) through static/js/admin-zones/, so the page and any other
client meet the same checks and the same 422 messages. What it hands the scripts: the map's
settings, the vehicle classes and the currency of each class's fare (fees and fixed fares are
typed in the currency's units, stored in minor units).
"""

from __future__ import annotations

import json

from quart import Blueprint, render_template
from quart_schema import hide

from hexfleet.drivers.vehicles import VEHICLE_CLASSES
from hexfleet.rides import queries as fare_queries
from hexfleet.users.roles import Role
from webapp.auth import current_user, page_role_required
from webapp.services import services

bp = Blueprint("admin_zones", __name__)

NO_STORE = {"Cache-Control": "no-store"}
# Fees are shown in a fare's currency; before any fare is set (quotes are refused then) the
# amounts still need one to be typed in.
DEFAULT_CURRENCY = "EUR"


def admins_only(func):
    """Admins in; anyone else signed in gets the readable 403 of every admin page; anonymous
    visitors go to the login form."""
    return page_role_required(Role.ADMIN)(func)


async def _currencies() -> dict[str, str]:
    async with services().db.acquire() as conn:
        fares = {fare.vehicle_class: fare.currency for fare in await fare_queries.list_fares(conn)}
    fallback = fares.get("standard") or next(iter(fares.values()), DEFAULT_CURRENCY)
    return {c: fares.get(c, fallback) for c in VEHICLE_CLASSES} | {"": fallback}


def _map_config() -> dict:
    settings = services().settings
    lat, lng = settings.map_center_latlng()
    return {"tile_url": settings.map_tile_url, "attribution": settings.map_tile_attribution, "center": f"{lat},{lng}"}


@bp.get("/admin/zones")
@hide  # a page, not API: kept out of /docs
@admins_only
async def zones_page():
    html = await render_template(
        "admin_zones.html",
        user=await current_user(),
        map=_map_config(),
        vehicle_classes=VEHICLE_CLASSES,
        currencies=json.dumps(await _currencies(), separators=(",", ":")),
        restricted_wait_min=f"{services().settings.alert_restricted_wait_s / 60:g}",
    )
    return html, 200, NO_STORE
