"""The zones editor's page (/admin/zones) through the real app: what it hands its scripts (the map's
settings, the fare currencies, the default wait), its tab in the admin bar, and who may open it: admins;
dispatchers the readable 403 of every admin page; customers too (as every admin page);
anonymous visitors the login form. The editing itself is the zones API's (and e2e/test_admin_zones.py)."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from test_admin_places import signed_in


@pytest.fixture
async def no_fares(db):
    await db.execute("TRUNCATE fares CASCADE")
    return db


async def test_the_page_hands_its_scripts_what_they_need(browsers, no_fares):
    admin = await signed_in(browsers, no_fares)
    page = await admin.client.get("/admin/zones")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert re.search(r'<a class="admin-tab" href="/admin/zones" aria-current="page">Zones</a>', page.text)
    assert 'data-center="52.52,13.405"' in page.text
    # No fare yet: amounts are typed in EUR until one is set.
    currencies = json.loads(html_lib.unescape(re.search(r'data-currencies="([^"]+)"', page.text).group(1)))
    assert currencies == {"standard": "EUR", "comfort": "EUR", "xl": "EUR", "van": "EUR", "": "EUR"}
    assert "Blank: the default, 5 minutes." in page.text  # ALERT_RESTRICTED_WAIT_S
    assert 'href="/api/v1/zones/export.geojson"' in page.text
    for script in ("vendor/leaflet-geoman-free-2.18.1/leaflet-geoman.js", "js/admin-zones/main.js"):
        src = re.search(r'src="(/static/' + re.escape(script) + r'[^"]*)"', page.text).group(1)
        assert (await admin.client.get(src)).status_code == 200
    for module in ("api", "form", "list", "map"):
        assert (await admin.client.get(f"/static/js/admin-zones/{module}.js")).status_code == 200


async def test_fees_are_typed_in_each_class_currency(browsers, no_fares):
    async with no_fares.acquire() as conn:
        await conn.execute(
            "INSERT INTO fares (vehicle_class, currency, base_minor, per_km_minor, per_minute_minor, booking_fee_minor,"
            " minimum_minor) VALUES ('standard', 'CHF', 300, 150, 40, 100, 800),"
            " ('van', 'EUR', 400, 200, 50, 100, 1000)"
        )
    admin = await signed_in(browsers, no_fares)
    page = await admin.client.get("/admin/zones")
    currencies = json.loads(html_lib.unescape(re.search(r'data-currencies="([^"]+)"', page.text).group(1)))
    assert currencies == {"standard": "CHF", "comfort": "CHF", "xl": "CHF", "van": "EUR", "": "CHF"}


@pytest.mark.parametrize("path", ["/admin/drivers", "/admin/places", "/admin/fares", "/admin/audit"])
async def test_every_admin_page_links_to_zones(browsers, db, path):
    admin = await signed_in(browsers, db)
    page = await admin.client.get(path)
    assert '<a class="admin-tab" href="/admin/zones">Zones</a>' in page.text


async def test_only_admins_open_it(browsers, db):
    dispatcher = await signed_in(browsers, db, "dispatcher")
    page = await dispatcher.client.get("/admin/zones")
    assert page.status_code == 403 and "This page is for admins" in page.text
    customer = await signed_in(browsers, db, "customer")
    page = await customer.client.get("/admin/zones")
    assert page.status_code == 403 and "zones-map" not in page.text  # as every admin page
    anonymous = await browsers().get("/admin/zones")
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/login?next=/admin/zones")
