"""History and replay through the real app: the JSON, the GPX and CSV exports, the page, the
range and id rules, who may ask, the limit, and the plan of the query (real PostgreSQL and
Redis). Fixes are written with the tracker's own query, at times taken from now."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import math
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from helpers import browser_login, make_driver, make_user

from hexfleet.places import queries as place_queries
from hexfleet.places.rules import PlaceIn
from hexfleet.tracking import exports, queries, timerange
from hexfleet.tracking.filters import IMPLAUSIBLE_JUMP, INACCURATE, OUT_OF_ORDER
from hexfleet.tracking.pings import Ping
from webapp.services import services

BERLIN = (52.52, 13.405)
GPX = {"g": exports.GPX_NS, "x": exports.TPX_NS}


def iso(moment: datetime | float) -> str:
    if isinstance(moment, float | int):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def east(metres: float, north: float = 0.0) -> tuple[float, float]:
    return BERLIN[0] + north / 111_195, BERLIN[1] + metres / (111_195 * math.cos(math.radians(BERLIN[0])))


async def add_places(app, db, *places: tuple[str, float, float]) -> None:
    """The operator's places (name, metres east of BERLIN, metres north), labelling at once."""
    async with db.acquire() as conn:
        await place_queries.add_missing_places(conn, [PlaceIn(name, "other", "", *east(e, n)) for name, e, n in places])
    await services(app).places.reload()


def a_stand(after: Ping, seconds: float = 300) -> list[tuple[Ping, str | None]]:
    """Standing where ``after`` was, a fix every 2 s."""
    return [(Ping(after.lat, after.lng, after.ts + 2 * i, speed_mps=0.0), None) for i in range(1, int(seconds / 2) + 1)]


async def write(pool, driver_id: int, fixes: list[tuple[Ping, str | None]]) -> None:
    async with pool.acquire() as conn:
        await queries.insert_positions(conn, [(driver_id, ping, ping.ts + 0.5, flag) for ping, flag in fixes])


def a_drive(start: float, count: int = 60, every: float = 2.0, speed: float = 10.0) -> list[tuple[Ping, str | None]]:
    """``count`` fixes driving east at ``speed`` m/s, reporting it."""
    return [(Ping(*east(speed * every * i), start + every * i, speed_mps=speed), None) for i in range(count)]


@pytest.fixture
async def staff(db):
    _, token = await make_user(db, "dispatcher")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def ada(db):
    driver, _ = await make_driver(db, 'Ada <Lovelace> & "Co"', "B-HX 101")
    return driver


# ------------------------------------------------------------------ the JSON


async def test_the_range_comes_back_in_order_with_flagged_fixes_apart(client, db, staff, ada):
    other, _ = await make_driver(db, "Grace Hopper")
    start = time.time() - 3600
    fixes = a_drive(start, 60)
    fixes[10] = (fixes[10][0], OUT_OF_ORDER)  # arrived late: still on the track, in its place
    jump = (Ping(52.9, 13.9, start + 21), IMPLAUSIBLE_JUMP)
    blurred = (Ping(*east(300), start + 33, accuracy_m=250), INACCURATE)
    await write(db, ada.id, [*fixes, jump, blurred])
    await write(db, ada.id, a_drive(start - 7200, 5))  # before the range
    await write(db, other.id, a_drive(start, 30))  # another driver's

    r = await client.get(
        f"/api/v1/drivers/{ada.id}/history",
        params={"from": iso(start - 1), "to": iso(start + 600)},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json" and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["driver"] == {"id": ada.id, "name": ada.name, "vehicle_plate": "B-HX 101"}
    assert body["from"] == iso(start - 1) and body["to"] == iso(start + 600)
    assert (body["limit"], body["truncated"]) == (50_000, False)
    t, lat, flag = (body["columns"].index(c) for c in ("t", "lat", "flag"))
    assert [row[t] for row in body["track"]] == pytest.approx([p.ts for p, _ in fixes])
    assert body["track"][10][flag] == OUT_OF_ORDER
    assert [(row[t], row[flag]) for row in body["flagged"]] == [
        (pytest.approx(start + 21), IMPLAUSIBLE_JUMP),
        (pytest.approx(start + 33), INACCURATE),
    ]
    assert body["flagged"][0][lat] == 52.9
    summary = body["summary"]
    assert summary["fixes"] == 60 and summary["flagged"] == 2 and summary["stops"] == 0
    assert summary["distance_m"] == pytest.approx(59 * 20, rel=0.01)  # the jump to 52.9 is not driven
    assert summary["duration_s"] == pytest.approx(118) and summary["max_speed_mps"] == 10
    assert body["segments"] == [[0, 59, 2]]  # 36 km/h all the way


async def test_stops_in_the_answer(client, db, staff, ada):
    start = time.time() - 7200
    drive = a_drive(start, 30)
    last = drive[-1][0]
    stand = [(Ping(last.lat, last.lng, last.ts + 2 * i, speed_mps=0.0), None) for i in range(1, 151)]  # 5 min
    await write(db, ada.id, drive + stand)
    body = (await client.get(f"/api/v1/drivers/{ada.id}/history", params={"from": iso(start)}, headers=staff)).json()
    [stop] = body["stops"]
    assert stop["duration_s"] >= 300 and stop["last"] == len(body["track"]) - 1
    assert stop["lat"] == pytest.approx(last.lat, abs=1e-5)
    assert body["summary"]["stopped_s"] == stop["duration_s"]
    assert stop["label"] is None  # no place near, no geocoder


async def test_stops_are_named_by_the_nearest_place(app, client, db, staff, ada):
    start = time.time() - 7200
    drive = a_drive(start, 30)  # 580 m east
    first_stop = a_stand(drive[-1][0])
    onwards = [(Ping(*east(580 + 20 * i), first_stop[-1][0].ts + 2 * i, speed_mps=10.0), None) for i in range(1, 31)]
    second_stop = a_stand(onwards[-1][0])
    await write(db, ada.id, drive + first_stop + onwards + second_stop)
    # 60 m north of the first stop; the second (1,180 m east) has no place within 150 m.
    await add_places(app, db, ("Alexanderplatz", 580, 60), ("Far Away Depot", 1180, 400))
    body = (await client.get(f"/api/v1/drivers/{ada.id}/history", params={"from": iso(start)}, headers=staff)).json()
    assert [stop["label"] for stop in body["stops"]] == [
        {"name": "Alexanderplatz", "category": "other", "distance_m": 60, "text": "Alexanderplatz, 60 m",
         "source": "place"},
        None,
    ]  # fmt: skip
    gpx = await client.get(f"/api/v1/drivers/{ada.id}/history.gpx", params={"from": iso(start)}, headers=staff)
    names = [w.findtext("g:name", namespaces=GPX) for w in ET.fromstring(gpx.content).findall("g:wpt", GPX)]
    assert names == ["Stop, 5 min: Alexanderplatz, 60 m", "Stop, 5 min"]


@contextlib.asynccontextmanager
async def reverse_geocoder():
    """A geocoder's /reverse on a local port: names every point, and counts what it was asked."""
    asked: list[str] = []
    body = orjson.dumps({"features": [{"properties": {"street": "Karl-Marx-Allee", "city": "Berlin"}}]})

    async def serve(reader, writer):
        with contextlib.suppress(Exception):
            head = await reader.readuntil(b"\r\n\r\n")
            asked.append(head.split(b" ", 2)[1].decode())
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", asked


async def test_the_geocoder_names_at_most_25_stops_per_request(settings, db, redis, ada):
    """A week holds hundreds of stops: a shared geocoder is asked about a few, not all at once."""
    from webapp import create_app
    from webapp.api.history import MAX_GEOCODED_STOPS

    start = time.time() - 6 * 3600
    fixes: list[tuple[Ping, str | None]] = []
    for n in range(MAX_GEOCODED_STOPS + 5):  # stops 300 m apart, each 3 minutes long
        at = start + n * 240
        fixes += [(Ping(*east(300 * n), at + 2 * i, speed_mps=0.0), None) for i in range(91)]
        fixes += [(Ping(*east(300 * n + 20 * i), at + 180 + 2 * i, speed_mps=10.0), None) for i in range(1, 16)]
    await write(db, ada.id, fixes)
    async with reverse_geocoder() as (url, asked):
        app = create_app(settings.with_(geocoder_url=url))
        async with app.test_app(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            await add_places(app, db, ("Stop Three Square", 600, 40))
            _, token = await make_user(db, "dispatcher")
            r = await c.get(f"/api/v1/drivers/{ada.id}/history", params={"from": iso(start - 1)},
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    stops = r.json()["stops"]
    assert len(stops) == MAX_GEOCODED_STOPS + 5
    texts = [stop["label"]["text"] if stop["label"] else None for stop in stops]
    assert texts[2] == "Stop Three Square, 40 m"  # a place near: the geocoder is not asked
    by_geocoder = [i for i, stop in enumerate(stops) if stop["label"] and stop["label"]["source"] == "geocoder"]
    assert by_geocoder == [i for i in range(MAX_GEOCODED_STOPS + 1) if i != 2]
    assert texts[MAX_GEOCODED_STOPS + 1 :] == [None] * 4
    assert len(asked) == MAX_GEOCODED_STOPS and all(path.startswith("/reverse") for path in asked)


async def test_the_default_range_is_the_last_24_hours(client, db, staff, ada):
    now = time.time()
    await write(db, ada.id, [(Ping(*BERLIN, now - 25 * 3600), None), (Ping(*BERLIN, now - 3600), None)])
    body = (await client.get(f"/api/v1/drivers/{ada.id}/history", headers=staff)).json()
    assert [row[0] for row in body["track"]] == pytest.approx([now - 3600])
    span = datetime.fromisoformat(body["to"]) - datetime.fromisoformat(body["from"])
    assert span == timedelta(days=1)


async def test_no_fixes_is_an_empty_answer_not_an_error(client, staff, ada):
    r = await client.get(f"/api/v1/drivers/{ada.id}/history", headers=staff)
    assert r.status_code == 200
    body = r.json()
    assert body["track"] == [] and body["flagged"] == [] and body["stops"] == [] and body["segments"] == []
    assert body["summary"]["fixes"] == 0 and body["summary"]["max_speed_mps"] is None


NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": iso(NOW), "to": iso(NOW - timedelta(hours=1))}, "from must be before to"),
        ({"from": iso(NOW), "to": iso(NOW)}, "from must be before to"),
        ({"from": iso(NOW - timedelta(days=8))}, "the range is 8 days long; ask for at most 7 days"),
        ({"from": iso(NOW - timedelta(days=30)), "to": iso(NOW)}, "at most 7 days"),
        ({"from": iso(NOW)[:19]}, "from must be an RFC 3339 date-time with an offset"),
        ({"to": "yesterday"}, "to must be an RFC 3339"),
        ({"from": "\x00"}, "from must be"),
        ({"from": str(int(NOW.timestamp()))}, "from must be"),
    ],
)
async def test_bad_ranges_are_400(client, staff, ada, params, message):
    r = await client.get(f"/api/v1/drivers/{ada.id}/history", params=params, headers=staff)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/bad-range") and message in r.json()["detail"]


async def test_seven_days_exactly_is_allowed(client, staff, ada):
    params = {"from": iso(NOW - timedelta(days=7)), "to": iso(NOW)}
    assert (await client.get(f"/api/v1/drivers/{ada.id}/history", params=params, headers=staff)).status_code == 200


@pytest.mark.parametrize("suffix", ["", ".gpx", ".csv"])
@pytest.mark.parametrize(
    "driver_id", ["0", "424242", "9223372036854775807", "9223372036854775808", "99999999999999999999999999"]
)
async def test_unknown_drivers_are_404_whatever_the_number(client, staff, ada, suffix, driver_id):
    r = await client.get(f"/api/v1/drivers/{driver_id}/history{suffix}", headers=staff)
    assert r.status_code == 404, r.text
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("suffix", ["", ".gpx", ".csv"])
async def test_who_may_ask(client, db, ada, suffix):
    url = f"/api/v1/drivers/{ada.id}/history{suffix}"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers={"Authorization": "Bearer not-a-token"})).status_code == 401
    _, customer = await make_user(db, "customer")
    r = await client.get(url, headers={"Authorization": f"Bearer {customer}"})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    for role in ("dispatcher", "admin"):
        _, token = await make_user(db, role)
        assert (await client.get(url, headers={"Authorization": f"Bearer {token}"})).status_code == 200
    user, _ = await make_user(db, "dispatcher")
    session = await browser_login(client, user.email)
    assert (await client.get(url, headers=session)).status_code == 200


async def test_a_stranger_learns_nothing_about_drivers_or_ranges(client):
    r = await client.get("/api/v1/drivers/424242/history", params={"from": "nonsense"})
    assert r.status_code == 401


async def test_the_cap_is_50000_fixes_and_the_answer_says_so(client, db, staff, ada):
    start = time.time() - 3 * 86400
    every = 2 * 86400 / (timerange.MAX_FIXES + 10)  # 50,010 fixes over two days
    await write(db, ada.id, [(Ping(*BERLIN, start + every * i), None) for i in range(timerange.MAX_FIXES + 10)])
    params = {"from": iso(start - 1), "to": iso(time.time())}
    body = (await client.get(f"/api/v1/drivers/{ada.id}/history", params=params, headers=staff)).json()
    assert body["truncated"] is True and len(body["track"]) == timerange.MAX_FIXES
    assert body["track"][0][0] == pytest.approx(start)  # the first ones
    r = await client.get(f"/api/v1/drivers/{ada.id}/history.csv", params=params, headers=staff)
    assert r.headers["x-hexfleet-truncated"].startswith("only the first 50000")
    assert r.text.count("\r\n") == timerange.MAX_FIXES + 1


async def test_the_api_is_documented(client):
    spec = (await client.get("/openapi.json")).json()
    for suffix in ("", ".gpx", ".csv"):
        get = spec["paths"][f"/api/v1/drivers/{{driver_id}}/history{suffix}"]["get"]
        assert {p["name"] for p in get["parameters"] if p["in"] == "query"} == {"from", "to"}
        assert get["tags"] == ["dispatch"]
    answer = spec["paths"]["/api/v1/drivers/{driver_id}/history"]["get"]["responses"]["200"]
    assert "HistoryOut" in str(answer)
    assert "/history" not in spec["paths"]  # the page is not API


# ------------------------------------------------------------------ exports


async def test_gpx_export(client, db, staff, ada):
    start = time.time() - 1800
    fixes = a_drive(start, 20)
    fixes[3] = (Ping(fixes[3][0].lat, fixes[3][0].lng, fixes[3][0].ts, speed_mps=10, altitude_m=34.5), None)
    await write(db, ada.id, [*fixes, (Ping(52.9, 13.9, start + 5), IMPLAUSIBLE_JUMP)])
    r = await client.get(
        f"/api/v1/drivers/{ada.id}/history.gpx", params={"from": iso(start - 60), "to": iso(start + 600)}, headers=staff
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/gpx+xml" and r.headers["cache-control"] == "no-store"
    stamp = datetime.fromtimestamp(start - 60, UTC).strftime("%Y%m%dT%H%MZ")
    assert r.headers["content-disposition"] == (f'attachment; filename="hexfleet-{ada.id}-ada-lovelace-co-{stamp}.gpx"')
    root = ET.fromstring(r.content)
    assert root.get("version") == "1.1"
    assert root.findtext("g:trk/g:name", namespaces=GPX) == 'Ada <Lovelace> & "Co"'
    points = root.findall("g:trk/g:trkseg/g:trkpt", GPX)
    assert len(points) == 20
    times = [datetime.fromisoformat(p.findtext("g:time", namespaces=GPX)).timestamp() for p in points]
    assert times == pytest.approx([p.ts for p, _ in fixes], abs=0.001)
    assert float(points[5].get("lon")) == pytest.approx(fixes[5][0].lng, abs=1e-7)
    assert points[3].findtext("g:ele", namespaces=GPX) == "34.5"
    assert points[4].findtext("g:extensions/x:TrackPointExtension/x:speed", namespaces=GPX) == "10"
    [flagged] = root.findall("g:wpt[g:type='flagged']", GPX)
    assert (flagged.get("lat"), flagged.get("lon")) == ("52.9", "13.9")


async def test_csv_export(client, db, staff, ada):
    start = time.time() - 1800
    fixes = a_drive(start, 10)
    await write(db, ada.id, [*fixes, (Ping(*east(50), start + 3, accuracy_m=300), INACCURATE)])
    r = await client.get(f"/api/v1/drivers/{ada.id}/history.csv", params={"from": iso(start - 60)}, headers=staff)
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith(f'attachment; filename="hexfleet-{ada.id}-ada-lovelace-co-')
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 11
    assert [row["flagged"] for row in rows].count("true") == 1
    assert rows[2]["flag"] == INACCURATE and rows[2]["accuracy_m"] == "300"
    times = [datetime.fromisoformat(row["time_utc"]) for row in rows]
    assert times == sorted(times) and all(row["time_utc"].endswith("Z") for row in rows)
    assert times[0].timestamp() == pytest.approx(start, abs=0.001)
    assert rows[0]["speed_mps"] == "10" and rows[0]["latitude"] == "52.52"
    assert all(row["place"] == "" and row["place_distance_m"] == "" for row in rows)  # no places


async def test_csv_names_the_place_of_each_fix(app, client, db, staff, ada):
    start = time.time() - 1800
    await write(db, ada.id, a_drive(start, 60, speed=10.0))  # 0 to 1,180 m east
    await add_places(app, db, ("Alexanderplatz", 0, 60), ('=HYPERLINK("http://x","Depot")', 1000, 0))
    r = await client.get(f"/api/v1/drivers/{ada.id}/history.csv", params={"from": iso(start - 60)}, headers=staff)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert (rows[0]["place"], rows[0]["place_distance_m"]) == ("Alexanderplatz", "60")
    assert rows[20]["place"] == "" and rows[20]["place_distance_m"] == ""  # 400 m from both
    # 1,000 m east: the operator's name, kept from running as a formula in a spreadsheet.
    assert (rows[50]["place"], rows[50]["place_distance_m"]) == ('\'=HYPERLINK("http://x","Depot")', "0")
    assert {row["place"] for row in rows} == {"Alexanderplatz", "", '\'=HYPERLINK("http://x","Depot")'}


# ------------------------------------------------------------------ the query plan


async def test_the_query_reads_one_driver_from_the_index(db):
    """Among 20 drivers' interleaved fixes, one driver's range comes from the primary key; once
    vacuumed (autovacuum, migration 007), without touching the table."""
    drivers = [(await make_driver(db, f"Plan {i}"))[0] for i in range(20)]
    start = time.time() - 4 * 3600
    rows = [(d.id, Ping(*BERLIN, start + 2 * i), start + 2 * i, None) for i in range(2000) for d in drivers]
    async with db.acquire() as conn:
        await queries.insert_positions(conn, rows)
    await db.execute("VACUUM ANALYZE positions")
    begin, end = datetime.fromtimestamp(start, UTC), datetime.now(UTC)
    async with db.acquire() as conn:
        plan = await queries.explain_fixes_between(conn, drivers[7].id, begin, end)
        fixes, truncated = await queries.fixes_between(conn, drivers[7].id, begin, end)
    assert "Index Only Scan using positions_pkey" in plan, plan
    assert "Sort" not in plan, plan
    assert len(fixes) == 2000 and not truncated


async def test_the_limit_is_exact(db, ada):
    start = time.time() - 600
    await write(db, ada.id, a_drive(start, 30))
    begin, end = datetime.fromtimestamp(start - 1, UTC), datetime.now(UTC)
    async with db.acquire() as conn:
        assert [len(f) for f, _ in [await queries.fixes_between(conn, ada.id, begin, end, 30)]] == [30]
        fixes, truncated = await queries.fixes_between(conn, ada.id, begin, end, 29)
    assert len(fixes) == 29 and truncated


# ------------------------------------------------------------------ rate limit


async def test_history_reads_are_rate_limited_per_user(settings, db, redis, ada):
    from webapp import create_app

    app = create_app(settings.with_(rate_history="3/minute"))
    async with app.test_app(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        _, token = await make_user(db, "dispatcher")
        staff = {"Authorization": f"Bearer {token}"}
        url = f"/api/v1/drivers/{ada.id}/history"
        codes = [(await client.get(url + suffix, headers=staff)).status_code for suffix in ("", ".gpx", ".csv", "")]
        assert codes == [200, 200, 200, 429]
        refused = await client.get(url, headers=staff)
        assert refused.json()["type"].endswith("/rate-limited") and int(refused.headers["retry-after"]) >= 1
        _, other = await make_user(db, "admin")
        assert (await client.get(url, headers={"Authorization": f"Bearer {other}"})).status_code == 200


# ------------------------------------------------------------------ the page


@pytest.fixture
async def desk(client, db):
    user, _ = await make_user(db, "dispatcher")
    return await browser_login(client, user.email)


async def test_the_page_for_a_driver_in_a_zone(client, desk, ada):
    today = datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
    params = {"driver_id": str(ada.id), "from": f"{today}T00:00", "to": f"{today}T00:30", "tz": "Europe/Berlin"}
    r = await client.get("/history", params=params, headers=desk)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    html = r.text
    midnight = datetime.fromisoformat(f"{today}T00:00").replace(tzinfo=ZoneInfo("Europe/Berlin"))
    assert f'data-from="{iso(midnight)}"' in html
    assert f'data-to="{iso(midnight + timedelta(minutes=30))}"' in html
    assert f'<option value="{ada.id}" selected>Ada &lt;Lovelace&gt; &amp; &#34;Co&#34; · B-HX 101' in html
    assert "<script>" not in html and " style=" not in html  # the CSP allows neither
    assert "/static/js/history.js" in html


async def test_the_page_without_a_zone_leaves_the_range_to_the_browser(client, desk, ada):
    html = (await client.get("/history", params={"driver_id": str(ada.id)}, headers=desk)).text
    assert 'data-from=""' in html and 'name="tz" value=""' in html
    assert f'data-driver-id="{ada.id}"' in html


async def test_the_page_defaults_to_today_in_the_zone(client, desk, ada):
    html = (await client.get("/history", params={"driver_id": str(ada.id), "tz": "Asia/Tokyo"}, headers=desk)).text
    tokyo = ZoneInfo("Asia/Tokyo")
    midnight = datetime.now(tokyo).replace(hour=0, minute=0, second=0, microsecond=0)
    assert f'data-from="{iso(midnight)}"' in html
    assert f'value="{midnight:%Y-%m-%dT%H:%M}"' in html


@pytest.mark.parametrize(
    ("params", "status", "text"),
    [
        ({"driver_id": "abc"}, 400, "That is not a driver id"),
        ({"driver_id": "9" * 30}, 400, "That is not a driver id"),
        ({"driver_id": "424242"}, 404, "There is no driver #424242"),
        ({"from": "soon"}, 400, "From: not a date and time"),
        ({"from": "{d}T10:00", "to": "{d}T09:00", "tz": "UTC"}, 400, "From must be before To."),
        ({"tz": "Mars/Base", "from": "{d}T10:00"}, 200, "Pick a driver"),
    ],
)
async def test_the_page_says_what_is_wrong(client, desk, params, status, text):
    today = datetime.now(UTC).date().isoformat()
    r = await client.get("/history", params={k: v.format(d=today) for k, v in params.items()}, headers=desk)
    assert r.status_code == status and text in r.text
    assert "Traceback" not in r.text


async def test_the_page_is_for_staff(client, db):
    r = await client.get("/history?driver_id=1")
    assert r.status_code == 302 and r.headers["location"].startswith("/login?next=/history")
    user, _ = await make_user(db, "customer")
    r = await client.get("/history", headers=await browser_login(client, user.email))
    assert r.status_code == 403


async def test_the_control_room_links_to_a_drivers_history(client, desk, ada):
    html = (await client.get(f"/ui/drivers/{ada.id}", headers=desk)).text
    assert f'href="/history?driver_id={ada.id}"' in html
