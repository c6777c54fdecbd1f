"""The places admin page (/admin/places) through the real app, as a signed-in admin's browser and
htmx use it: the list (search, paging, empty state), add, edit, delete, import with a report of
every bad row, and the export buttons."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from helpers import make_user

from hexfleet import audit
from hexfleet.devtools.demo import DEMO_PLACES
from hexfleet.places import queries
from webapp.pages.admin_places import PAGE

PASSWORD = "correct-horse"
HX = {"HX-Request": "true"}

GOOD = {
    "name": "Tegel Depot",
    "category": "depot",
    "address": "Flughafen Tegel, 13405 Berlin",
    "lat": "52.5588",
    "lng": "13.2884",
    "aliases": "North depot\nTXL",
    "active": "on",
}


class Browser:
    def __init__(self, client, csrf: str) -> None:
        self.client, self.csrf = client, csrf

    async def get(self, path: str, **kwargs):
        return await self.client.get(path, headers=HX, **kwargs)

    async def post(self, path: str, data: dict | None = None, files: dict | None = None, csrf: bool = True):
        headers = {**HX, **({"X-CSRF-Token": self.csrf} if csrf else {})}
        return await self.client.post(path, data=data or {}, files=files, headers=headers)


async def signed_in(browsers, db, role: str = "admin") -> Browser:
    user, _ = await make_user(db, role)
    client = browsers()
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = await client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 302
    page = await client.get("/account")
    return Browser(client, re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1))


def text_of(response) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


@pytest.fixture
async def empty(db):
    await db.execute("TRUNCATE places, audit_log RESTART IDENTITY")
    return db


@pytest.fixture
async def demo(empty):
    async with empty.acquire() as conn:
        await queries.add_missing_places(conn, DEMO_PLACES)
    return empty


@pytest.fixture
async def admin(browsers, empty) -> Browser:
    return await signed_in(browsers, empty)


async def stored(db) -> dict[str, queries.Place]:
    async with db.acquire() as conn:
        return {p.name: p for p in await queries.all_places(conn)}


async def actions(db) -> list[str]:
    async with db.acquire() as conn:
        return [e.action for e in await audit.recent(conn, 100)]


async def test_the_empty_page_says_what_places_are_for(admin):
    page = await admin.client.get("/admin/places")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = text_of(page)
    assert "No places yet." in text and "import a CSV or GeoJSON file" in text
    assert "0 places" in text
    # The navigation, the export buttons, the map's settings and its script (a new module file).
    assert re.search(r'<a class="admin-tab" href="/admin/places" aria-current="page">Places</a>', page.text)
    assert 'href="/api/v1/places/export.csv"' in page.text and 'href="/api/v1/places/export.geojson"' in page.text
    assert 'data-center="52.52,13.405"' in page.text
    assert re.search(r'<script type="module" src="/static/js/admin-places\.js\?v=[0-9a-f]+"></script>', page.text)
    assert (await admin.client.get("/static/js/admin-places.js")).status_code == 200


@pytest.mark.parametrize("path", ["/admin/drivers", "/admin/users", "/admin/audit"])
async def test_every_admin_page_links_to_places(admin, path):
    page = await admin.client.get(path)
    assert '<a class="admin-tab" href="/admin/places">Places</a>' in page.text


async def test_only_admins_see_it(browsers, empty):
    dispatcher = await signed_in(browsers, empty, "dispatcher")
    page = await dispatcher.client.get("/admin/places")
    assert page.status_code == 403 and "This page is for admins" in page.text
    refused = await dispatcher.post("/admin/places", GOOD)
    assert refused.status_code == 403
    assert await stored(empty) == {}
    anonymous = await browsers().get("/admin/places")
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/login?next=/admin/places")


async def test_add_a_place(admin, empty):
    res = await admin.post("/admin/places", GOOD)
    assert res.status_code == 201, res.text
    assert res.headers["hx-trigger"] == "places-changed"  # the list refreshes
    assert "Added Tegel Depot." in text_of(res)
    place = (await stored(empty))["Tegel Depot"]
    assert (place.category, place.lat, place.lng, place.aliases, place.active) == (
        "depot", 52.5588, 13.2884, ("North depot", "TXL"), True,
    )  # fmt: skip
    rows = await admin.get("/admin/places/rows")
    assert "Tegel Depot" in text_of(rows) and "North depot, TXL" in text_of(rows)
    assert await actions(empty) == ["place.create"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "Enter the place's name (1 to 120 characters)."),
        ({"lat": "52,5588"}, "lat", "Enter a number from -90 to 90 (decimal degrees, such as 52.5219)."),
        ({"lng": ""}, "lng", "Enter a number from -180 to 180"),
        ({"category": "castle"}, "category", "Choose one of airport, station"),
        ({"aliases": "ok\n" + "x" * 130}, "aliases", "Aliases: at most 120 characters."),
    ],
)
async def test_a_refused_place_marks_its_field_and_keeps_what_was_typed(admin, empty, change, field, message):
    res = await admin.post("/admin/places", {**GOOD, **change})
    assert res.status_code == 400
    assert "The place was not added: please check the fields marked below." in text_of(res)
    assert message in text_of(res)
    assert f'id="new-place-{field}-error"' in res.text or field == "category"
    assert 'value="Flughafen Tegel, 13405 Berlin"' in res.text  # kept
    assert await stored(empty) == {}


async def test_a_taken_name_is_refused_on_the_name_field(admin, demo):
    res = await admin.post("/admin/places", {**GOOD, "name": "alexanderplatz"})
    assert res.status_code == 400
    assert "A place named 'alexanderplatz' exists already: choose another name, or edit that place." in text_of(res)


async def test_edit_a_place(admin, demo):
    hbf = (await stored(demo))["Berlin Hauptbahnhof"]
    form = await admin.get(f"/admin/places/{hbf.id}/edit")
    assert form.status_code == 200
    assert 'value="52.52508"' in form.text and "Hauptbahnhof\nHbf\nCentral Station</textarea>" in form.text
    res = await admin.post(f"/admin/places/{hbf.id}", {**GOOD, "name": "Berlin Hbf", "active": ""})
    assert res.status_code == 200 and "Saved." in text_of(res) and "inactive" in text_of(res)
    after = (await stored(demo))["Berlin Hbf"]
    assert after.id == hbf.id and after.active is False and after.aliases == ("North depot", "TXL")
    bad = await admin.post(f"/admin/places/{hbf.id}", {**GOOD, "name": "Alexanderplatz"})
    assert bad.status_code == 400 and "Nothing was saved" in text_of(bad)
    assert (await admin.get(f"/admin/places/{hbf.id}")).status_code == 200  # Cancel: the row again
    assert await actions(demo) == ["place.update"]


async def test_delete_a_place(admin, demo):
    alex = (await stored(demo))["Alexanderplatz"]
    res = await admin.post(f"/admin/places/{alex.id}/delete")
    assert res.status_code == 200 and "Deleted Alexanderplatz." in text_of(res)
    assert "Alexanderplatz" not in await stored(demo)
    missing = await admin.post(f"/admin/places/{alex.id}/delete")
    assert missing.status_code == 404
    assert await actions(demo) == ["place.delete"]


async def test_changes_need_the_csrf_token(admin, empty):
    res = await admin.post("/admin/places", GOOD, csrf=False)
    assert res.status_code == 403
    assert await stored(empty) == {}


async def test_search_and_paging(admin, demo):
    found = await admin.get("/admin/places/rows", params={"q": "Alexandrplatz"})  # a typo
    assert "Alexanderplatz" in text_of(found) and "Hotel Adlon" not in text_of(found)
    nothing = await admin.get("/admin/places/rows", params={"q": "Zzyzx"})
    assert "No place matches “Zzyzx”." in text_of(nothing)
    async with demo.acquire() as conn:
        await conn.execute(
            """INSERT INTO places (name, category, lat, lng)
               SELECT 'Stop ' || lpad(i::text, 3, '0'), 'other', 52.5, 13.4 FROM generate_series(1, $1) i""",
            PAGE,
        )
    total = PAGE + len(DEMO_PLACES)
    first = await admin.get("/admin/places/rows")
    assert f"{total} places · page 1 of 2" in text_of(first) and "Next" in text_of(first)
    second = await admin.get("/admin/places/rows", params={"page": "2"})
    assert "page 2 of 2" in text_of(second) and "Previous" in text_of(second)
    assert text_of(second).count("Edit") == total - PAGE
    past = await admin.get("/admin/places/rows", params={"page": "9"})
    assert "No places on this page." in text_of(past)
    odd = await admin.get("/admin/places/rows", params={"page": "-3x"})
    assert "page 1 of 2" in text_of(odd)


async def test_active_only(admin, demo):
    alex = (await stored(demo))["Alexanderplatz"]
    await admin.post(f"/admin/places/{alex.id}", {**GOOD, "name": "Alexanderplatz", "active": ""})
    listed = await admin.get("/admin/places/rows", params={"show": "active", "q": "Alexanderplatz"})
    assert "(active ones)" in text_of(listed)
    assert not re.search(r"<strong>Alexanderplatz</strong>", listed.text)
    everything = await admin.get("/admin/places/rows", params={"q": "Alexanderplatz"})
    assert re.search(r"<strong>Alexanderplatz</strong>", everything.text)


CSV = "name,category,address,lat,lng,aliases,active\nTegel Depot,depot,,52.5588,13.2884,TXL,\n"


async def test_import_a_file(admin, demo):
    res = await admin.post("/admin/places/import", files={"file": ("places.csv", CSV.encode(), "text/csv")})
    assert res.status_code == 200 and res.headers["hx-trigger"] == "places-changed"
    assert "Imported places.csv: 1 place, 1 added, 0 updated, 0 unchanged." in text_of(res)
    assert "Tegel Depot" in await stored(demo)
    assert await actions(demo) == ["place.import"]


async def test_a_bad_file_is_reported_row_by_row_and_nothing_is_saved(admin, demo):
    bad = CSV + "Nowhere,castle,,52.5,13.4,,\nSouth Pole,other,,-91,0,,maybe\n"
    res = await admin.post("/admin/places/import", files={"file": ("places.csv", bad.encode(), "text/csv")})
    assert res.status_code == 422 and "hx-trigger" not in res.headers
    text = text_of(res)
    assert "Nothing was imported from places.csv. Fix these rows and import the file again:" in text
    assert "Line 3 (category): Choose one of airport" in text
    assert "Line 4 (lat): Enter a number from -90 to 90" in text
    assert "Line 4 (active): Active is true or false" in text
    assert "Tegel Depot" not in await stored(demo)
    assert await actions(demo) == []


async def test_a_geojson_file_by_its_name_and_other_files_refused(admin, empty):
    body = (
        b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point",'
        b' "coordinates": [13.2884, 52.5588]}, "properties": {"name": "Tegel Depot", "category": "depot"}}]}'
    )
    res = await admin.post("/admin/places/import", files={"file": ("export.geojson", body, "application/octet-stream")})
    assert res.status_code == 200 and "1 added" in text_of(res)
    pdf = await admin.post("/admin/places/import", files={"file": ("scan.pdf", b"%PDF-1.4", "application/pdf")})
    assert pdf.status_code == 415 and "scan.pdf: Send CSV" in text_of(pdf)
    none = await admin.post("/admin/places/import", {"other": "x"})
    assert none.status_code == 400 and "Choose a CSV or GeoJSON file first." in text_of(none)


async def test_a_file_name_with_a_nul_is_shown_and_audited_without_it(admin, empty):
    # The browser's file name went into the audit entry as it was: PostgreSQL's JSON refused the
    # NUL, and the import answered 500 (found by the hostile-input suite).
    body = (
        b'--hx\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + CSV.encode() + b"\r\n--hx--\r\n"
    )  # as a browser may send it (httpx would percent-encode the NUL)
    headers = {**HX, "X-CSRF-Token": admin.csrf, "Content-Type": "multipart/form-data; boundary=hx"}
    res = await admin.client.post("/admin/places/import", content=body, headers=headers)
    assert res.status_code == 200 and "Imported ab.csv: 1 place" in text_of(res)
    async with empty.acquire() as conn:
        [entry] = await audit.recent(conn, 5)
    assert entry.details["source"] == "page (csv: ab.csv)"


async def test_the_export_buttons_download_every_place(admin, demo):
    csv = await admin.client.get("/api/v1/places/export.csv")
    assert csv.status_code == 200 and csv.headers["content-disposition"] == 'attachment; filename="places.csv"'
    assert csv.text.count("\r\n") == len(DEMO_PLACES) + 1
    geojson = await admin.client.get("/api/v1/places/export.geojson")
    assert len(geojson.json()["features"]) == len(DEMO_PLACES)
