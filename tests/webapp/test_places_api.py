"""The places API through the real app: who may search and who may change (401, 403), validation
(422 naming the field), imports all or nothing, exports that import again, the audit log, and the
geocoder's addresses after the places."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import orjson
import pytest
from helpers import make_user

from hexfleet import audit
from hexfleet.devtools.demo import DEMO_PLACES
from hexfleet.places import exports, queries

PLACE = {
    "name": "Tegel Depot",
    "category": "depot",
    "address": "Flughafen Tegel, 13405 Berlin",
    "lat": 52.5588,
    "lng": 13.2884,
    "aliases": ["North depot", "TXL"],
    "active": True,
}


@pytest.fixture
async def places_db(db):
    await db.execute("TRUNCATE places, audit_log RESTART IDENTITY")
    async with db.acquire() as conn:
        await queries.add_missing_places(conn, DEMO_PLACES)
    return db


@pytest.fixture
async def callers(places_db):
    tokens = {}
    for role in ("customer", "dispatcher", "admin"):
        _, token = await make_user(places_db, role)
        tokens[role] = {"Authorization": f"Bearer {token}"}
    return tokens


async def audit_entries(db) -> list[audit.Entry]:
    async with db.acquire() as conn:
        return await audit.recent(conn, 100)


async def test_every_signed_in_user_searches(client, callers):
    for role in ("customer", "dispatcher", "admin"):
        res = await client.get("/api/v1/places", params={"q": "Alexandrplatz", "near": "52.52,13.405"},
                               headers=callers[role])  # fmt: skip
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["geocoder"] == "off"
        first = body["results"][0]
        assert first["name"] == "Alexanderplatz" and first["category"] == "landmark" and first["source"] == "place"
        assert isinstance(first["id"], int) and 500 < first["distance_m"] < 700
        assert set(first) == {"id", "name", "category", "address", "lat", "lng", "distance_m", "aliases", "active",
                              "source"}  # fmt: skip
        assert res.headers["cache-control"] == "no-store"


async def test_anonymous_callers_are_refused(client, places_db):
    for method, path in (
        ("GET", "/api/v1/places?q=alex"),
        ("GET", "/api/v1/places/1"),
        ("POST", "/api/v1/places"),
        ("PUT", "/api/v1/places/1"),
        ("DELETE", "/api/v1/places/1"),
        ("POST", "/api/v1/places/import"),
        ("GET", "/api/v1/places/export.csv"),
        ("GET", "/api/v1/places/export.geojson"),
    ):
        res = await client.request(method, path, json=PLACE if method in ("POST", "PUT") else None)
        assert res.status_code == 401, (method, path, res.text)
        assert res.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["customer", "dispatcher"])
async def test_only_admins_change_places(client, callers, places_db, role):
    headers = callers[role]
    refused = [
        await client.post("/api/v1/places", json=PLACE, headers=headers),
        await client.put("/api/v1/places/1", json=PLACE, headers=headers),
        await client.delete("/api/v1/places/1", headers=headers),
        await client.get("/api/v1/places/1", headers=headers),
        await client.post("/api/v1/places/import", content=b"x", headers={**headers, "Content-Type": "text/csv"}),
        await client.get("/api/v1/places/export.csv", headers=headers),
        await client.get("/api/v1/places/export.geojson", headers=headers),
        await client.get("/api/v1/places?all=1", headers=headers),  # inactive places are the admins'
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    async with places_db.acquire() as conn:
        assert len(await queries.all_places(conn)) == len(DEMO_PLACES)
    assert await audit_entries(places_db) == []


async def test_admins_add_read_edit_and_delete_with_audit(client, callers, places_db):
    admin = callers["admin"]
    res = await client.post("/api/v1/places", json=PLACE, headers=admin)
    assert res.status_code == 201, res.text
    created = res.json()
    assert {k: created[k] for k in PLACE} == PLACE
    place_id = created["id"]
    assert (await client.get(f"/api/v1/places/{place_id}", headers=admin)).json() == created
    found = (await client.get("/api/v1/places", params={"q": "txl"}, headers=callers["customer"])).json()
    assert found["results"][0]["id"] == place_id  # an alias finds it

    edited = {**PLACE, "name": "Tegel Depot North", "active": False}
    res = await client.put(f"/api/v1/places/{place_id}", json=edited, headers=admin)
    assert res.status_code == 200 and res.json()["active"] is False
    hidden = (await client.get("/api/v1/places", params={"q": "Tegel"}, headers=callers["customer"])).json()
    assert hidden["results"] == []  # inactive: not searched
    shown = (await client.get("/api/v1/places", params={"q": "Tegel", "all": "1"}, headers=admin)).json()
    assert [r["name"] for r in shown["results"]] == ["Tegel Depot North"] and not shown["results"][0]["active"]

    assert (await client.delete(f"/api/v1/places/{place_id}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/v1/places/{place_id}", headers=admin)).status_code == 404
    assert (await client.delete(f"/api/v1/places/{place_id}", headers=admin)).status_code == 404

    entries = await audit_entries(places_db)
    assert [(e.action, e.target_id, e.target_label) for e in entries] == [
        ("place.delete", place_id, "Tegel Depot North"),
        ("place.update", place_id, "Tegel Depot North"),
        ("place.create", place_id, "Tegel Depot"),
    ]
    assert entries[1].details == {"name": ["Tegel Depot", "Tegel Depot North"], "active": [True, False]}
    assert entries[0].details["lat"] == PLACE["lat"]  # what it was, to put it back
    assert all(e.actor.startswith("admin") for e in entries)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "Bar\u202e"}, "name"),
        ({"category": "castle"}, "category"),
        ({"lat": 91}, "lat"),
        ({"lng": -181}, "lng"),
        ({"aliases": [f"a{i}" for i in range(21)]}, "aliases"),
        ({"aliases": ["a|b"]}, "aliases"),
        ({"address": "x" * 301}, "address"),
    ],
)
async def test_a_bad_place_is_a_422_naming_the_field(client, callers, change, field):
    res = await client.post("/api/v1/places", json={**PLACE, **change}, headers=callers["admin"])
    assert res.status_code == 422, res.text
    body = res.json()
    assert body["type"].endswith("/invalid-place") and list(body["errors"]) == [field]
    assert body["detail"].startswith(f"{field}: ")


@pytest.mark.parametrize(
    "body",
    [{**PLACE, "lat": "north"}, {k: v for k, v in PLACE.items() if k != "name"}, {**PLACE, "aliases": "x"}, []],
)
async def test_a_malformed_body_is_a_422(client, callers, body):
    res = await client.post("/api/v1/places", json=body, headers=callers["admin"])
    assert res.status_code == 422 and res.headers["content-type"] == "application/problem+json"


async def test_a_taken_name_is_a_409(client, callers, places_db):
    res = await client.post("/api/v1/places", json={**PLACE, "name": "ALEXANDERPLATZ"}, headers=callers["admin"])
    assert res.status_code == 409 and res.json()["type"].endswith("/place-name-taken")
    async with places_db.acquire() as conn:
        [hbf] = [p for p in await queries.all_places(conn) if p.name == "Berlin Hauptbahnhof"]
    res = await client.put(f"/api/v1/places/{hbf.id}", json={**PLACE, "name": "alexanderplatz"},
                           headers=callers["admin"])  # fmt: skip
    assert res.status_code == 409
    assert await audit_entries(places_db) == []


@pytest.mark.parametrize(
    "query",
    [{"near": "north"}, {"near": "52.52"}, {"near": "95,13"}, {"near": "1,2,3"}, {"limit": "0"}, {"limit": "51"},
     {"all": "maybe"}, {"q": "x" * 201}],
)  # fmt: skip
async def test_bad_search_parameters_are_a_422(client, callers, query):
    res = await client.get("/api/v1/places", params=query, headers=callers["admin"])
    assert res.status_code == 422, res.text


async def test_limit_and_default_near(client, callers):
    res = await client.get("/api/v1/places", params={"limit": "3"}, headers=callers["customer"])
    names = [r["name"] for r in res.json()["results"]]
    # No query, no near: the places nearest to MAP_CENTER (52.52, 13.405).
    assert names == ["Museumsinsel", "Bahnhof Alexanderplatz", "Park Inn by Radisson Alexanderplatz"]
    assert [r["distance_m"] for r in res.json()["results"]] == [400, 443, 541]


CSV_OK = (
    "name,category,address,lat,lng,aliases,active\n"
    "Tegel Depot,depot,,52.5588,13.2884,TXL,true\n"
    "ALEXANDERPLATZ,landmark,Alexanderplatz 1,52.52192,13.41321,Alex,true\n"  # updates the demo's
    'Brandenburger Tor,landmark,"Pariser Platz, 10117 Berlin",52.51628,13.3777,Brandenburg Gate,true\n'  # the same
)


async def test_import_csv_adds_and_updates_and_is_audited(client, callers, places_db):
    res = await client.post("/api/v1/places/import", content=CSV_OK.encode(),
                            headers={**callers["admin"], "Content-Type": "text/csv"})  # fmt: skip
    assert res.status_code == 200, res.text
    assert res.json() == {"added": 1, "updated": 1, "unchanged": 1, "total": 3}
    [entry] = await audit_entries(places_db)
    assert (entry.action, entry.target_label) == ("place.import", "3 places")
    assert entry.details["added_names"] == "Tegel Depot" and entry.details["updated_names"] == "ALEXANDERPLATZ"
    assert entry.details["source"] == "API (csv)"


async def test_import_is_all_or_nothing(client, callers, places_db):
    bad = CSV_OK + "Nowhere,castle,,52.5,13.4,,\nSouth Pole,other,,-91,0,,\n"
    res = await client.post("/api/v1/places/import", content=bad.encode(),
                            headers={**callers["admin"], "Content-Type": "text/csv; charset=utf-8"})  # fmt: skip
    assert res.status_code == 422
    body = res.json()
    assert body["type"].endswith("/import-invalid") and body["more_errors"] == 0
    assert [(e["line"], e["field"]) for e in body["errors"]] == [(5, "category"), (6, "lat")]
    async with places_db.acquire() as conn:
        stored = await queries.all_places(conn)
    assert len(stored) == len(DEMO_PLACES) and "Tegel Depot" not in {p.name for p in stored}
    assert "ALEXANDERPLATZ" not in {p.name for p in stored}  # the good rows were not saved either
    assert await audit_entries(places_db) == []


async def test_import_geojson_and_the_content_types(client, callers, places_db):
    body = orjson.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.2884, 52.5588]},
                 "properties": {"name": "Tegel Depot", "category": "depot"}},
            ],
        }
    )  # fmt: skip
    res = await client.post("/api/v1/places/import", content=body,
                            headers={**callers["admin"], "Content-Type": "application/geo+json"})  # fmt: skip
    assert res.status_code == 200 and res.json()["added"] == 1
    bad = await client.post("/api/v1/places/import", content=b'{"type": "FeatureCollection", "features": [{}]}',
                            headers={**callers["admin"], "Content-Type": "application/json"})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"] == [
        {"feature": 1, "field": None, "error": 'not a GeoJSON Feature ({"type": "Feature", ...})'}
    ]
    odd = await client.post("/api/v1/places/import", content=b"%PDF",
                            headers={**callers["admin"], "Content-Type": "application/pdf"})  # fmt: skip
    assert odd.status_code == 415 and odd.json()["type"].endswith("/unsupported-import-type")


async def test_an_import_larger_than_a_ping_body_but_within_2_mb(client, callers, places_db, settings):
    rows = "".join(f"Stop {i},other,Somewhere street {i},52.{i:05d},13.{i:05d},,\n" for i in range(6000))
    text = "name,category,address,lat,lng,aliases,active\n" + rows
    assert settings.max_body_bytes < len(text) < 2 * 1024 * 1024
    res = await client.post("/api/v1/places/import", content=text.encode(),
                            headers={**callers["admin"], "Content-Type": "text/csv"})  # fmt: skip
    assert res.status_code == 200, res.text[:300]
    assert res.json()["added"] == 6000
    huge = await client.post("/api/v1/places/import", content=b"x" * (3 * 1024 * 1024),
                             headers={**callers["admin"], "Content-Type": "text/csv"})  # fmt: skip
    assert huge.status_code == 413


async def test_export_imports_again_unchanged(client, callers, places_db):
    admin = callers["admin"]
    for suffix, ctype in (("csv", "text/csv"), ("geojson", "application/geo+json")):
        res = await client.get(f"/api/v1/places/export.{suffix}", headers=admin)
        assert res.status_code == 200
        assert res.headers["content-type"].startswith(ctype)
        assert res.headers["content-disposition"] == f'attachment; filename="places.{suffix}"'
        again = await client.post(
            "/api/v1/places/import", content=res.content, headers={**admin, "Content-Type": ctype}
        )
        assert again.json() == {"added": 0, "updated": 0, "unchanged": len(DEMO_PLACES), "total": len(DEMO_PLACES)}
    async with places_db.acquire() as conn:
        stored = [p.as_input() for p in await queries.all_places(conn)]
    assert (await client.get("/api/v1/places/export.csv", headers=admin)).text == exports.to_csv(stored)


@contextlib.asynccontextmanager
async def app_client(settings, **changes):
    from webapp import create_app

    app = create_app(settings.with_(**changes))
    async with app.test_app():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield client


async def test_search_and_changes_are_rate_limited_per_user(settings, places_db, redis):
    _, token = await make_user(places_db, "customer")
    _, other = await make_user(places_db, "customer")
    async with app_client(settings, rate_places="3/minute") as client:
        codes = [
            (await client.get("/api/v1/places?q=alex", headers={"Authorization": f"Bearer {token}"})).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        fresh = await client.get("/api/v1/places?q=alex", headers={"Authorization": f"Bearer {other}"})
        assert fresh.status_code == 200  # per user


# ---------------------------------------------------------------- the geocoder after the places


@contextlib.asynccontextmanager
async def photon(features):
    seen: list[str] = []
    body = orjson.dumps({"features": features})

    async def serve(reader, writer):
        with contextlib.suppress(Exception):
            head = await reader.readuntil(b"\r\n\r\n")
            seen.append(head.split(b" ", 2)[1].decode())
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen


GEOCODED = [
    {"geometry": {"coordinates": [13.4132, 52.5219]}, "properties": {"name": "Alexanderplatz", "city": "Berlin"}},
    {"geometry": {"coordinates": [13.4500, 52.5300]},
     "properties": {"name": "Alexanderstraße", "street": "Alexanderstraße", "housenumber": "7", "city": "Berlin"}},
]  # fmt: skip


async def test_geocoder_addresses_follow_the_places(settings, places_db, redis):
    _, token = await make_user(places_db, "customer")
    headers = {"Authorization": f"Bearer {token}"}
    async with photon(GEOCODED) as (url, seen):
        async with app_client(settings, geocoder_url=url) as client:
            body = (await client.get("/api/v1/places", params={"q": "Alexander", "limit": 5},
                                     headers=headers)).json()  # fmt: skip
            assert body["geocoder"] == "used"
            sources = [r["source"] for r in body["results"]]
            assert sources[0] == "place" and sources[-1] == "geocoder"
            assert sources == sorted(sources, key=lambda s: s != "place")  # places first
            [address] = [r for r in body["results"] if r["source"] == "geocoder"]
            # The geocoder's Alexanderplatz is the place we list already: shown once.
            assert address["name"] == "Alexanderstraße" and address["id"] is None and address["category"] is None
            assert address["address"] == "Alexanderstraße, Alexanderstraße 7, Berlin"
            short = (await client.get("/api/v1/places", params={"q": "Al"}, headers=headers)).json()
            assert short["geocoder"] == "skipped"  # too short to ask
            enough = (await client.get("/api/v1/places", params={"q": "Alexander", "limit": 2},
                                       headers=headers)).json()  # fmt: skip
            assert enough["geocoder"] == "skipped" and len(enough["results"]) == 2
            assert len(seen) == 1


async def test_the_api_documents_places_and_labels(client):
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    for path, methods in {
        "/api/v1/places": {"get", "post"},
        "/api/v1/places/{place_id}": {"get", "put", "delete"},
        "/api/v1/places/import": {"post"},
        "/api/v1/places/export.csv": {"get"},
        "/api/v1/places/export.geojson": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    search = paths["/api/v1/places"]["get"]
    assert {"200", "401", "403", "422", "429"} <= set(search["responses"])
    assert {p["name"] for p in search["parameters"]} >= {"q", "near", "limit", "all"}
    assert {"200", "413", "415", "422"} <= set(paths["/api/v1/places/import"]["post"]["responses"])
    components = schema["components"]["schemas"]
    assert "label" in components["Point"]["properties"]  # a quote's request
    assert "label" in components["PointOut"]["properties"]  # its answer, and the booking's

    def answer(path: str, method: str, status: str) -> dict:
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]

    assert answer("/api/v1/quotes", "post", "201")["properties"]["pickup"]["$ref"].endswith("/PointOut")
    assert answer("/api/v1/bookings", "post", "201")["properties"]["dropoff"]["$ref"].endswith("/PointOut")
    assert "events" in answer("/api/v1/bookings/{booking_id}", "get", "200")["properties"]
