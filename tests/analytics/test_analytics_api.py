"""The analytics API through the real app, over real rollups: three weeks of a small fleet
written by the data generator (hexfleet/devtools/bench/analytics_data.py) and rolled up by the
real backfill, every time built from now. Answers are checked against the rollup reads and,
for the outlook, against a count of the raw bookings."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from helpers import make_driver, make_user, place_driver
from redis.asyncio import Redis

from hexfleet.analytics import kpis, outlook, rollups
from hexfleet.analytics import queries as aq
from hexfleet.devtools.bench.analytics_data import generate
from hexfleet.geo import cell_name, parent_cell
from webapp.services import services

API = "/api/v1/analytics"
ROUTES = ("summary", "series", "cells", "drivers", "outlook")
REQUIRED = {
    "requests",
    "searches",
    "completed",
    "cancelled",
    "no_driver",
    "acceptance_rate",
    "time_to_assign_s",
    "pickup_wait_s",
    "eta",
    "revenue_minor",
    "driver_hours",
    "utilisation",
}


WALL_TIME = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")  # no offset


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class World:
    def __init__(self, **parts) -> None:
        self.__dict__.update(parts)


@pytest.fixture(scope="module")
async def world(base_settings, pool):
    await pool.execute(
        """TRUNCATE users, api_tokens, vehicles, drivers, devices, fares, quotes, bookings, offers, booking_events,
                    duty_history, analytics_cells, analytics_drivers, analytics_hours, analytics_state
                    RESTART IDENTITY CASCADE"""
    )
    async with pool.acquire() as conn:
        made = await generate(conn, drivers=8, days=22, seed=11)
    await rollups.backfill(pool, made.start, made.end)
    redis = Redis.from_url(base_settings.redis_url)
    await redis.flushdb()  # no driver of another test in the live index
    await redis.aclose()
    users = {role: await make_user(pool, role) for role in ("dispatcher", "admin", "customer")}
    _, device = await make_driver(pool, "Analytics Outsider")
    suffix = uuid.uuid4().hex[:8]
    settings = base_settings.with_(
        kafka_topic_locations=f"driver-locations-{suffix}",
        tracker_group=f"tracker-{suffix}",
        kafka_topic_bookings=f"booking-events-{suffix}",
        kafka_topic_surge=f"surge-{suffix}",
        rate_analytics="100000/minute",
    )
    from webapp import create_app

    app = create_app(settings)
    async with app.test_app():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield World(
                app=app,
                client=client,
                made=made,
                pool=pool,
                headers={role: {"Authorization": f"Bearer {token}"} for role, (_, token) in users.items()},
                device={"Authorization": f"Bearer {device.token}"},
            )


async def get(world, path: str, role: str = "dispatcher", **query) -> httpx.Response:
    return await world.client.get(API + path, params=query, headers=world.headers[role])


async def test_summary_has_the_promised_keys_and_the_rollups_figures(world):
    start, end = world.made.start + timedelta(days=8), world.made.end
    r = await get(world, "/summary", **{"from": iso(start), "to": iso(end), "tz": "Europe/Berlin"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert REQUIRED <= set(body) and REQUIRED <= set(body["previous"])
    assert set(body["cancelled"]) >= {"rider", "driver", "dispatcher", "system"}
    assert set(body["time_to_assign_s"]) == set(body["pickup_wait_s"]) == {"p50", "p90"}
    assert set(body["eta"]) >= {"mae_s", "bias_s", "within_band"}
    assert set(body["driver_hours"]) >= {"online", "available", "en_route", "on_trip"}
    async with world.pool.acquire() as conn:
        now = kpis.summary(await aq.range_totals(conn, start, end))
        before = kpis.summary(await aq.range_totals(conn, start - (end - start), start))
    assert {k: body[k] for k in now} == now and now["requests"] > 100
    assert {k: body["previous"][k] for k in before} == before and before["requests"] > 100
    assert body["from"] == iso(start) and body["previous"]["to"] == iso(start)
    assert body["previous"]["from"] == iso(start - (end - start))
    assert set(body["revenue_minor"]) == {"EUR"} and body["revenue_minor"]["EUR"] > 0


async def test_summary_by_class_and_by_area(world):
    span = {"from": iso(world.made.start), "to": iso(world.made.end)}
    whole = (await get(world, "/summary", **span)).json()
    standard = (await get(world, "/summary", **span, vehicle_class="standard")).json()
    assert 0 < standard["requests"] < whole["requests"] and standard["vehicle_class"] == "standard"
    centre = (await get(world, "/summary", **span, bbox="13.38,52.51,13.43,52.53")).json()
    assert 0 < centre["requests"] < whole["requests"] and centre["cells"] > 0
    nowhere = (await get(world, "/summary", **span, bbox="2.30,48.85,2.31,48.86")).json()  # Paris
    assert nowhere["requests"] == 0 and nowhere["acceptance_rate"] is None and nowhere["revenue_minor"] == {}


async def test_an_empty_range_reads_zero_and_null_not_an_error(world):
    start = world.made.start - timedelta(days=60)
    r = await get(world, "/summary", **{"from": iso(start), "to": iso(start + timedelta(days=7))})
    body = r.json()
    assert r.status_code == 200 and body["requests"] == 0 and body["utilisation"] is None
    assert body["time_to_assign_s"] == {"p50": None, "p90": None}
    series = (await get(world, "/series", **{"from": iso(start), "to": iso(start + timedelta(days=7))})).json()
    assert [p["value"] for p in series["points"]] == [0] * len(series["points"]) and len(series["points"]) >= 7
    cells = (await get(world, "/cells", **{"from": iso(start), "to": iso(start + timedelta(days=7))})).json()
    assert cells["cells"] == []


async def test_series_by_local_day_adds_up_to_the_summary(world):
    span = {"from": iso(world.made.start), "to": iso(world.made.end), "tz": "Europe/Berlin"}
    whole = (await get(world, "/summary", **span)).json()
    r = await get(world, "/series", **span, metric="requests", bucket="day")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["unit"] == "count" and body["bucket"] == "day"
    assert sum(p["value"] for p in body["points"]) == whole["requests"]
    assert 22 <= len(body["points"]) <= 24  # every local day the range touches, empty or not
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    local = [datetime.fromisoformat(p["t"].replace("Z", "+00:00")).astimezone(berlin) for p in body["points"]]
    assert all(t.hour == 0 for t in local[1:])
    revenue = (await get(world, "/series", **span, metric="revenue")).json()
    assert revenue["currency"] == "EUR" and sum(p["value"] for p in revenue["points"]) == whole["revenue_minor"]["EUR"]
    wait = (await get(world, "/series", **span, metric="pickup_wait_p90")).json()
    assert wait["unit"] == "s" and any(p["value"] for p in wait["points"])


async def test_series_by_hour_has_a_point_per_hour(world):
    start = world.made.end - timedelta(days=2)
    body = (await get(world, "/series", **{"from": iso(start), "to": iso(world.made.end)}, bucket="hour")).json()
    assert len(body["points"]) == 48
    async with world.pool.acquire() as conn:
        rows = await aq.cell_rows(conn, "hour", start, world.made.end)
    by_hour = {}
    for (hour, cell, _), t in rows.items():
        if cell == 0:
            by_hour[iso(hour)] = by_hour.get(iso(hour), 0) + t.requests
    assert {p["t"]: p["value"] for p in body["points"] if p["value"]} == {k: v for k, v in by_hour.items() if v}


async def test_cells_carry_outlines_and_add_up(world):
    span = {"from": iso(world.made.start), "to": iso(world.made.end), "tz": "Europe/Berlin"}
    whole = (await get(world, "/summary", **span)).json()
    r = await get(world, "/cells", **span, metric="unmet")
    assert r.status_code == 200, r.text
    body = r.json()
    assert sum(c["demand"] for c in body["cells"]) == whole["requests"]
    assert all(c["value"] == c["unmet"] for c in body["cells"])
    one = body["cells"][0]
    assert len(one["outline"]) == 6 and all(52 < lat < 53 and 13 < lng < 14 for lat, lng in one["outline"])
    # Every hour of the week, one at a time, adds up to the whole range.
    total = 0
    for how in range(168):
        part = (await get(world, "/cells", **span, how=str(how))).json()
        assert part["how"] == how and part["hours"] in (3, 4)
        total += sum(c["demand"] for c in part["cells"])
    assert total == whole["requests"]


async def test_drivers_add_up_to_the_completed_rides(world):
    span = {"from": iso(world.made.start), "to": iso(world.made.end)}
    whole = (await get(world, "/summary", **span)).json()
    body = (await get(world, "/drivers", **span)).json()
    assert len(body["drivers"]) == 8
    assert sum(d["trips"] for d in body["drivers"]) == whole["completed"]
    first = body["drivers"][0]
    assert set(first) >= {"id", "name", "hours", "trips", "acceptance_rate", "revenue_minor", "distance_km"}
    assert first["hours"]["online"] > 0


async def test_every_answer_comes_as_a_csv_file(world):
    driver_id = world.made.drivers[0]
    await world.pool.execute("UPDATE drivers SET name = '=HYPERLINK(\"x\")' WHERE id = $1", driver_id)
    start = world.made.end - timedelta(days=7)
    span = {"from": iso(start), "to": iso(world.made.end), "tz": "Europe/Berlin"}
    files = {}
    for name in ("summary", "series", "cells", "drivers", "outlook"):
        r = await get(world, f"/{name}.csv", **span) if name != "outlook" else await get(world, "/outlook.csv")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        disposition = r.headers["content-disposition"]
        assert disposition.startswith(f'attachment; filename="hexfleet-analytics-{name}-') and disposition.endswith(
            '.csv"'
        )
        files[name] = list(csv.reader(io.StringIO(r.text)))
    local = start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert local.strftime("%Y%m%d") in (await get(world, "/summary.csv", **span)).headers["content-disposition"]
    summary = (await get(world, "/summary", **span)).json()
    rows = {row[0]: row for row in files["summary"]}
    assert files["summary"][0] == ["kpi", "value", "previous"]
    assert rows["requests"][1] == str(summary["requests"]) and rows["requests"][2] == str(
        summary["previous"]["requests"]
    )
    assert rows["time_to_assign_s.p90"][1] == str(summary["time_to_assign_s"]["p90"])
    assert files["series"][0] == ["bucket_start", "requests (count)"] and len(files["series"]) >= 8
    assert files["cells"][0][:3] == ["cell", "lat", "lng"]
    names = {row[1] for row in files["drivers"][1:]}
    assert '\'=HYPERLINK("x")' in names  # a formula is never run by a spreadsheet
    assert files["outlook"][0][:3] == ["cell", "expected_requests", "available_drivers"]


async def test_the_outlook_expects_the_weighted_same_hour_of_past_weeks(world):
    now = datetime.now(UTC)
    # Drivers available now: two in the busiest cell of the last weeks, none elsewhere.
    pairs = outlook.history_hours(now, 3)
    counts = {}
    for k, (this, after) in enumerate(pairs):
        for hour in (this, after):
            rows = await world.pool.fetch(
                """SELECT pickup_cell7 AS cell, count(*) AS n FROM bookings
                   WHERE coalesce(dispatch_at, created_at) >= $1 AND coalesce(dispatch_at, created_at) < $2
                   GROUP BY 1""",
                hour,
                hour + timedelta(hours=1),
            )
            for r in rows:
                counts.setdefault(r["cell"], [[0, 0] for _ in pairs])[k][0 if hour == this else 1] = r["n"]
    assert counts, "the generated fleet has requests in this hour of the week"
    store = services(world.app).store
    busiest = max(counts, key=lambda c: sum(a + b for a, b in counts[c]))
    drivers = []
    for i in range(2):
        d, _ = await make_driver(world.pool, f"Outlook driver {i}")
        drivers.append(d)
    import h3

    lat, lng = h3.cell_to_latlng(cell_name(busiest))
    for d in drivers:
        await place_driver(store, d.id, lat, lng)
    r = await get(world, "/outlook", weeks="3")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["weeks"] == 3 and body["weeks_known"] == 3 and body["weights"] == [1.0, 0.707, 0.5]
    _, share = outlook.window(datetime.fromisoformat(body["at"].replace("Z", "+00:00")))
    w = outlook.weights(3)
    got = {c["cell"]: c for c in body["cells"]}
    for cell, weeks in counts.items():
        want = sum(wk * (share * a + (1 - share) * b) for wk, (a, b) in zip(w, weeks, strict=True)) / sum(w)
        assert got[cell_name(cell)]["expected"] == pytest.approx(want, abs=0.01)
    here = got[cell_name(busiest)]
    assert here["available"] == 2 and here["capacity"] == 4.0
    assert here["short"] == (here["expected"] >= 1 and here["expected"] > 4)
    assert parent_cell(int(here["cell"], 16), 7) == busiest and len(here["outline"]) == 6
    assert body["short_cells"] == sum(c["short"] for c in body["cells"])
    shorts = [c for c in body["cells"] if c["short"]]
    assert shorts == sorted(shorts, key=lambda c: -c["gap"])


@pytest.mark.parametrize(
    ("path", "query", "code", "words"),
    [
        ("/summary", {"from": WALL_TIME}, "bad-range", "with an offset"),
        ("/summary", {"to": "now"}, "bad-range", "with an offset"),
        ("/series", {"from": "relative"}, "bad-range", "with an offset"),
        ("/summary", {"tz": "Mars/Olympus"}, "bad-tz", "IANA time zone"),
        ("/series", {"bucket": "week"}, "bad-bucket", "hour or day"),
        ("/series", {"metric": "speed"}, "bad-metric", "metric must be one of requests"),
        ("/cells", {"metric": "speed"}, "bad-metric", "metric must be one of demand, unmet, supply"),
        ("/cells", {"how": "200"}, "bad-how", "0 (Monday 00:00) to 167"),
        ("/summary", {"vehicle_class": "limo"}, "bad-vehicle-class", "standard, comfort, xl, van"),
        ("/summary", {"bbox": "1,2,3"}, "bad-bbox", "minLng,minLat,maxLng,maxLat"),
        ("/cells", {"bbox": "-180,-90,180,90"}, "bbox-too-large", "zoom in"),
        ("/outlook", {"weeks": "99"}, "bad-weeks", "from 1 to 12"),
        ("/drivers.csv", {"from": "x"}, "bad-range", "with an offset"),
    ],
)
async def test_bad_input_is_a_400_problem_with_a_clear_message(world, path, query, code, words):
    r = await get(world, path, **query)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/" + code) and words in r.json()["detail"]


async def test_long_ranges_and_long_hour_series_are_refused(world):
    end = datetime.now(UTC)
    r = await get(world, "/summary", **{"from": iso(end - timedelta(days=401)), "to": iso(end)})
    assert r.status_code == 400 and "at most 400 days" in r.json()["detail"]
    r = await get(world, "/series", **{"from": iso(end - timedelta(days=40)), "to": iso(end)}, bucket="hour")
    assert r.status_code == 400 and "use bucket=day" in r.json()["detail"]


@pytest.mark.parametrize("name", [*ROUTES, *(f"{r}.csv" for r in ROUTES)])
async def test_staff_only(world, name):
    for role in ("dispatcher", "admin"):
        assert (await get(world, f"/{name}", role)).status_code == 200
    # Riders and drivers are not told the area exists: the 404 of an unknown path.
    customer = await get(world, f"/{name}", "customer")
    assert customer.status_code == 404 and customer.headers["content-type"] == "application/problem+json"
    assert customer.json()["detail"] == f"nothing at {API}/{name}"
    driver = await world.client.get(f"{API}/{name}", headers=world.device)
    assert driver.status_code == 404 and driver.json()["detail"] == f"nothing at {API}/{name}"
    # No credentials (or a token that expired): sign in.
    anonymous = await world.client.get(f"{API}/{name}")
    expired = await world.client.get(f"{API}/{name}", headers={"Authorization": "Bearer " + "x" * 43})
    assert anonymous.status_code == expired.status_code == 401


async def test_openapi_documents_every_answer(world):
    spec = (await world.client.get("/openapi.json")).json()
    for name in ROUTES:
        for path in (f"{API}/{name}", f"{API}/{name}.csv"):
            answers = spec["paths"][path]["get"]["responses"]
            assert {"200", "400", "401", "404", "422", "429", "503"} <= set(answers), path
            assert answers["400"]["content"]
    csv_ok = spec["paths"][f"{API}/drivers.csv"]["get"]["responses"]["200"]
    assert list(csv_ok["content"]) == ["text/csv"] and "Content-Disposition" in csv_ok["headers"]
    summary = spec["paths"][f"{API}/summary"]["get"]
    assert {p["name"] for p in summary["parameters"]} >= {"from", "to", "tz", "vehicle_class", "bbox"}


async def test_each_staff_user_has_a_budget_of_reads(world, base_settings):
    """RATE_ANALYTICS per user: past it, 429 with Retry-After; another user is not held back."""
    suffix = uuid.uuid4().hex[:8]
    settings = base_settings.with_(
        kafka_topic_locations=f"driver-locations-{suffix}",
        tracker_group=f"tracker-{suffix}",
        kafka_topic_bookings=f"booking-events-{suffix}",
        kafka_topic_surge=f"surge-{suffix}",
        rate_analytics="3/minute",
    )
    from webapp import create_app

    app = create_app(settings)
    async with app.test_app():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            await services(app).redis.flushdb()  # no budget spent by an earlier run
            codes = [
                (await client.get(f"{API}/{name}", headers=world.headers["dispatcher"])).status_code
                for name in ("summary", "series.csv", "cells", "drivers")
            ]
            assert codes == [200, 200, 200, 429]
            refused = await client.get(f"{API}/outlook", headers=world.headers["dispatcher"])
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
            assert "too many analytics requests" in refused.json()["detail"]
            assert (await client.get(f"{API}/summary", headers=world.headers["admin"])).status_code == 200
