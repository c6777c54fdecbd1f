"""The analytics page (/analytics): what an operations manager opens every morning.

The page is a frame: static/js/analytics/ draws the KPI cards, the charts, the map and the
drivers table from /api/v1/analytics/* (webapp/api/analytics.py, registered here so the app's
blueprint list carries one line for analytics), for a range picked in the browser's zone.
"""

from __future__ import annotations

from quart import Blueprint, render_template
from quart_schema import hide

from hexfleet.analytics import metrics, params
from hexfleet.users.roles import STAFF
from webapp.api import analytics as analytics_api
from webapp.auth import current_user, page_role_required
from webapp.services import services

bp = Blueprint("analytics_page", __name__)
bp.register_blueprint(analytics_api.bp)

NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _settings():
    return services().settings


@bp.get("/analytics")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF, hidden=True)
async def analytics_page() -> tuple[str, int, dict[str, str]]:
    settings = _settings()
    center_lat, center_lng = settings.map_center_latlng()
    html = await render_template(
        "analytics.html",
        user=await current_user(),
        series_metrics=metrics.SERIES,
        cell_metrics=metrics.CELLS,
        vehicle_classes=params.VEHICLE_CLASSES,
        max_days=params.MAX_RANGE.days,
        map_config={
            "tile_url": settings.map_tile_url,
            "tile_attribution": settings.map_tile_attribution,
            "center_lat": center_lat,
            "center_lng": center_lng,
        },
    )
    return html, 200, NO_STORE
