"""The zones API through the real app: roles (riders 404, dispatchers read, admins write), the
contract (201 with its id, GeoJSON geometry, rules), 422 that says what is wrong with a geometry,
nothing half-saved, the audit log, and a FeatureCollection import/export round trip."""

from __future__ import annotations

import orjson
import pytest
from helpers import make_user

from hexfleet import audit
from hexfleet.zones import geometry

# Berlin's centre, roughly, with the Tiergarten cut out as a hole.
CENTRE = {
    "type": "Polygon",
    "coordinates": [
        [[13.35, 52.49], [13.46, 52.49], [13.46, 52.55], [13.35, 52.55], [13.35, 52.49]],
        [[13.36, 52.51], [13.37, 52.51], [13.37, 52.52], [13.36, 52.52], [13.36, 52.51]],
    ],
}
BER = {"type": "Circle", "center": [13.5033, 52.3667], "radius_m": 2500.0}
ZONE = {"name": "City centre", "kind": "service_area", "geometry": CENTRE, "rules": {"allow_dropoff_outside": True}}


@pytest.fixture
async def callers(db):
    tokens = {}
    for role in ("customer", "dispatcher", "admin"):
        _, token = await make_user(db, role)
        tokens[role] = {"Authorization": f"Bearer {token}"}
    return tokens


async def audit_entries(db) -> list[audit.Entry]:
    async with db.acquire() as conn:
        return await audit.recent(conn, 100)


async def test_admin_creates_reads_updates_and_deletes_a_zone(client, callers, db):
    admin = callers["admin"]
    res = await client.post("/api/v1/zones", json=ZONE, headers=admin)
    assert res.status_code == 201, res.text
    zone = res.json()
    assert isinstance(zone["id"], int)
    assert {k: zone[k] for k in ("name", "kind", "geometry", "rules", "active", "color")} == {
        **ZONE,
        "active": True,
        "color": "#2e7d32",  # the kind's colour when none is given
    }
    got = await client.get(f"/api/v1/zones/{zone['id']}", headers=callers["dispatcher"])
    assert got.status_code == 200 and got.json() == zone
    listed = await client.get("/api/v1/zones", headers=callers["dispatcher"])
    assert listed.status_code == 200 and listed.json() == {"zones": [zone]}

    airport = {"name": "BER Airport", "kind": "airport", "geometry": BER, "color": "#123ABC",
               "rules": {"pickup_fee_minor": 500, "fixed_fares": [
                   {"to_zone_id": zone["id"], "vehicle_class": "standard", "amount_minor": 4500}]}}  # fmt: skip
    res = await client.post("/api/v1/zones", json=airport, headers=admin)
    assert res.status_code == 201, res.text
    ber = res.json()
    assert ber["geometry"] == BER and ber["color"] == "#123abc"
    assert ber["rules"] == {
        "pickup_fee_minor": 500,
        "dropoff_fee_minor": 0,
        "fixed_fares": [
            {"to_zone_id": zone["id"], "vehicle_class": "standard", "amount_minor": 4500, "no_surge": True}
        ],
    }

    moved = {**ZONE, "name": "Centre", "active": False}
    res = await client.put(f"/api/v1/zones/{zone['id']}", json=moved, headers=admin)
    assert res.status_code == 200 and res.json()["name"] == "Centre" and res.json()["active"] is False
    res = await client.delete(f"/api/v1/zones/{ber['id']}", headers=admin)
    assert res.status_code == 204
    assert (await client.get(f"/api/v1/zones/{ber['id']}", headers=admin)).status_code == 404

    entries = await audit_entries(db)
    assert [e.action for e in entries] == ["zone.delete", "zone.update", "zone.create", "zone.create"]
    delete, update, _, create = entries
    assert delete.target_label == "BER Airport" and delete.details["geometry"] == BER  # enough to put it back
    assert update.details == {"active": [True, False], "name": ["City centre", "Centre"]}
    assert create.details["geometry"] == {"type": "Polygon", "vertices": 10}
    assert create.actor.startswith("admin") and create.target_id == zone["id"]


async def test_an_unchanged_put_is_not_logged(client, callers, db):
    zone = (await client.post("/api/v1/zones", json=ZONE, headers=callers["admin"])).json()
    res = await client.put(f"/api/v1/zones/{zone['id']}", json=ZONE, headers=callers["admin"])
    assert res.status_code == 200 and res.json()["updated_at"] == zone["updated_at"]
    assert [e.action for e in await audit_entries(db)] == ["zone.create"]


async def test_roles(client, callers, db):
    zone = (await client.post("/api/v1/zones", json=ZONE, headers=callers["admin"])).json()
    zid = zone["id"]
    reads = [("GET", "/api/v1/zones"), ("GET", f"/api/v1/zones/{zid}"), ("GET", "/api/v1/zones/export.geojson")]
    writes = [
        ("POST", "/api/v1/zones"),
        ("PUT", f"/api/v1/zones/{zid}"),
        ("DELETE", f"/api/v1/zones/{zid}"),
        ("POST", "/api/v1/zones/import"),
    ]
    for method, path in reads + writes:
        body = ZONE if method in ("POST", "PUT") else None
        # Riders: the admin API does not exist for them.
        res = await client.request(method, path, json=body, headers=callers["customer"])
        assert res.status_code == 404, (method, path, res.text)
        # Nobody signed in: told to sign in.
        res = await client.request(method, path, json=body)
        assert res.status_code == 401, (method, path)
        assert res.headers["content-type"] == "application/problem+json"
    for method, path in reads:
        assert (await client.request(method, path, headers=callers["dispatcher"])).status_code == 200
    for method, path in writes:
        res = await client.request(method, path, json=ZONE if method != "DELETE" else None,
                                   headers=callers["dispatcher"])  # fmt: skip
        assert res.status_code == 403, (method, path, res.text)
    assert [e.action for e in await audit_entries(db)] == ["zone.create"]


BAD_GEOMETRIES = [
    # (geometry, words the 422 must hold)
    (
        {"type": "Polygon", "coordinates": [[[13.3, 52.4], [13.5, 52.6], [13.5, 52.4], [13.3, 52.6], [13.3, 52.4]]]},
        "self-intersection at [13.4, 52.5]",
    ),
    (
        {"type": "Polygon", "coordinates": [[[13.3, 52.4], [13.5, 52.4], [13.5, 52.6], [13.3, 52.6]]]},
        "coordinates[0] is not closed",
    ),
    ({"type": "Polygon", "coordinates": [[[13.0 + i / 10_000, 52.0] for i in range(5_001)]]}, "too many vertices"),
    ({"type": "Point", "coordinates": [13.4, 52.5]}, "must be Polygon, MultiPolygon or Circle, not Point"),
    (
        {"type": "Polygon", "coordinates": [[[13.4, 52.5], [13.5, 52.5], [193.5, 52.6], [13.4, 52.5]]]},
        "longitude 193.5 is not between -180 and 180",
    ),
    ({"type": "Circle", "center": [13.4, 52.5], "radius_m": 1}, "radius_m must be between 10 and 100000"),
    ({"type": "Polygon", "coordinates": "nope"}, "must be a list of rings"),
    ({"coordinates": []}, "not missing"),
]


@pytest.mark.parametrize(("shape", "words"), BAD_GEOMETRIES)
async def test_bad_geometry_is_a_422_that_says_what_is_wrong(client, callers, db, shape, words):
    res = await client.post("/api/v1/zones", json={**ZONE, "geometry": shape}, headers=callers["admin"])
    assert res.status_code == 422, res.text
    body = res.json()
    assert body["type"].endswith("/invalid-geometry") and words in body["detail"], body
    assert words in body["errors"]["geometry"]
    assert await db.fetchval("SELECT count(*) FROM zones") == 0
    assert await audit_entries(db) == []


async def test_bad_rules_name_each_field(client, callers, db):
    airport = {"name": "BER", "kind": "airport", "geometry": BER, "color": "blue",
               "rules": {"pickup_fee_minor": -1, "surcharge": 3,
                         "fixed_fares": [{"to_zone_id": 99, "vehicle_class": "limo", "amount_minor": 1}]}}  # fmt: skip
    res = await client.post("/api/v1/zones", json=airport, headers=callers["admin"])
    assert res.status_code == 422
    errors = res.json()["errors"]
    assert set(errors) == {"rules.pickup_fee_minor", "rules.surcharge", "rules.fixed_fares[0].vehicle_class", "color"}
    # A fixed fare to a zone that does not exist.
    airport = {**airport, "color": None, "rules": {"fixed_fares": [
        {"to_zone_id": 99, "vehicle_class": "standard", "amount_minor": 1}]}}  # fmt: skip
    res = await client.post("/api/v1/zones", json=airport, headers=callers["admin"])
    assert res.status_code == 422 and "no zone with id 99" in res.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM zones") == 0


async def test_names_are_unique_whatever_the_case(client, callers):
    assert (await client.post("/api/v1/zones", json=ZONE, headers=callers["admin"])).status_code == 201
    res = await client.post("/api/v1/zones", json={**ZONE, "name": "CITY CENTRE"}, headers=callers["admin"])
    assert res.status_code == 409 and res.json()["type"].endswith("/zone-name-taken")


async def test_unknown_ids_are_404(client, callers):
    for path in ("/api/v1/zones/12345", "/api/v1/zones/99999999999999999999", "/api/v1/zones/abc"):
        assert (await client.get(path, headers=callers["admin"])).status_code == 404
    assert (await client.put("/api/v1/zones/12345", json=ZONE, headers=callers["admin"])).status_code == 404
    assert (await client.delete("/api/v1/zones/12345", headers=callers["admin"])).status_code == 404


async def test_a_large_outline_is_accepted(client, callers):
    # 4,998 vertices of full precision, indented: past MAX_BODY_BYTES, within a zone's own limit.
    big = geometry.circle_outline(geometry.Circle(52.5, 13.4, 20_000), segments=4_998)
    coords = [[x, y] for x, y in big.exterior.coords]
    shape = {"type": "Polygon", "coordinates": [coords]}
    body = orjson.dumps({**ZONE, "geometry": shape}, option=orjson.OPT_INDENT_2)
    assert len(body) > 262_144
    res = await client.post("/api/v1/zones", content=body,
                            headers={**callers["admin"], "Content-Type": "application/json"})  # fmt: skip
    assert res.status_code == 201, res.text[:300]
    assert len(res.json()["geometry"]["coordinates"][0]) == 4_999


async def test_import_export_round_trip(client, callers, db):
    admin = callers["admin"]
    centre = (await client.post("/api/v1/zones", json=ZONE, headers=admin)).json()
    airport = {"name": "BER Airport", "kind": "airport", "geometry": BER,
               "rules": {"dropoff_fee_minor": 300, "fixed_fares": [
                   {"from_zone_id": centre["id"], "vehicle_class": "comfort", "amount_minor": 6000,
                    "no_surge": False}]}}  # fmt: skip
    await client.post("/api/v1/zones", json=airport, headers=admin)
    multi = {"type": "MultiPolygon", "coordinates": [
        [[[13.1, 52.4], [13.2, 52.4], [13.2, 52.45], [13.1, 52.45], [13.1, 52.4]]],
        [[[13.3, 52.4], [13.32, 52.4], [13.32, 52.42], [13.3, 52.4]]]]}  # fmt: skip
    await client.post("/api/v1/zones", json={"name": "Yards", "kind": "restricted", "geometry": multi,
                                             "rules": {"wait_minutes": 10}}, headers=admin)  # fmt: skip
    res = await client.get("/api/v1/zones/export.geojson", headers=admin)
    assert res.status_code == 200 and res.headers["content-type"] == "application/geo+json"
    assert "attachment" in res.headers["content-disposition"]
    exported = res.json()
    circle = next(f for f in exported["features"] if f["properties"]["name"] == "BER Airport")
    assert circle["geometry"] == {"type": "Point", "coordinates": [13.5033, 52.3667]}
    assert circle["properties"]["radius_m"] == 2500.0
    before = (await client.get("/api/v1/zones", headers=admin)).json()["zones"]

    # Into an empty installation: the same zones (new ids; the fixed fare names its zone in the file).
    assert circle["properties"]["rules"]["fixed_fares"][0]["from_zone"] == "City centre"
    await db.execute("TRUNCATE zones RESTART IDENTITY")
    await db.execute("SELECT setval(pg_get_serial_sequence('zones', 'id'), 40)")
    res = await client.post("/api/v1/zones/import", content=res.content,
                            headers={**admin, "Content-Type": "application/geo+json"})  # fmt: skip
    assert res.status_code == 200, res.text
    assert res.json() == {"added": 3, "updated": 0, "unchanged": 0, "total": 3}
    after = (await client.get("/api/v1/zones", headers=admin)).json()["zones"]

    def comparable(zones):
        names = {z["id"]: z["name"] for z in zones}
        out = []
        for z in zones:
            fares = [{**f, "from_zone_id": names[f["from_zone_id"]]} for f in z["rules"].get("fixed_fares", [])]
            rules = {**z["rules"], "fixed_fares": fares} if fares else z["rules"]
            out.append({**{k: v for k, v in z.items() if k not in ("id", "created_at", "updated_at")}, "rules": rules})
        return out

    assert comparable(after) == comparable(before)
    assert min(z["id"] for z in after) > 40
    # Again: nothing changes.
    again = await client.post("/api/v1/zones/import", content=orjson.dumps(exported),
                              headers={**admin, "Content-Type": "application/geo+json"})  # fmt: skip
    assert again.json() == {"added": 0, "updated": 0, "unchanged": 3, "total": 3}
    assert [e.action for e in await audit_entries(db)][:2] == ["zone.import", "zone.import"]


async def test_an_import_is_all_or_nothing(client, callers, db):
    good = {"type": "Feature", "geometry": CENTRE, "properties": {"name": "Centre", "kind": "custom"}}
    bowtie = {"type": "Polygon", "coordinates": BAD_GEOMETRIES[0][0]["coordinates"]}
    features = [
        good,
        {"type": "Feature", "geometry": bowtie, "properties": {"name": "Bow tie", "kind": "custom"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.4, 52.5]}, "properties": {"name": "Pin"}},
        {"type": "Feature", "geometry": CENTRE, "properties": {"name": "centre", "kind": "custom"}},
        {"type": "Feature", "geometry": CENTRE, "properties": {"name": "Lot", "kind": "parking"}},
        "junk",
    ]
    res = await client.post("/api/v1/zones/import", content=orjson.dumps({"type": "FeatureCollection",
                            "features": features}), headers={**callers["admin"],
                            "Content-Type": "application/geo+json"})  # fmt: skip
    assert res.status_code == 422, res.text
    body = res.json()
    assert body["type"].endswith("/import-invalid")
    problems = {(e["feature"], e["field"]) for e in body["errors"]}
    assert problems == {(2, "geometry"), (3, "geometry"), (4, "name"), (5, "kind"), (6, None)}
    assert "self-intersection" in next(e["error"] for e in body["errors"] if e["feature"] == 2)
    assert "radius_m" in next(e["error"] for e in body["errors"] if e["feature"] == 3)
    assert await db.fetchval("SELECT count(*) FROM zones") == 0
    assert await audit_entries(db) == []


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"{", "application/geo+json", 422, "not JSON"),
        (b'{"type": "Feature"}', "application/geo+json", 422, "FeatureCollection is expected"),
        (b'{"type": "FeatureCollection", "features": []}', "application/geo+json", 422, "no zones"),
        (b"name,kind\n", "text/csv", 415, "application/geo+json"),
    ],
)
async def test_bad_import_files(client, callers, body, content_type, status, words):
    res = await client.post("/api/v1/zones/import", content=body,
                            headers={**callers["admin"], "Content-Type": content_type})  # fmt: skip
    assert res.status_code == status and words in res.json()["detail"]


async def test_the_service_area_check(client, callers):
    # No service area: everywhere is served.
    res = await client.get("/api/v1/zones/service-area", params={"lat": 40.0, "lng": -3.7},
                           headers=callers["customer"])  # fmt: skip
    assert res.status_code == 200 and res.json() == {"served": True, "service_areas": 0, "zone": None}
    zone = (await client.post("/api/v1/zones", json=ZONE, headers=callers["admin"])).json()
    inside = await client.get("/api/v1/zones/service-area", params={"lat": 52.52, "lng": 13.40},
                              headers=callers["customer"])  # fmt: skip
    assert inside.json() == {"served": True, "service_areas": 1, "zone": {"id": zone["id"], "name": "City centre"}}
    hole = await client.get("/api/v1/zones/service-area", params={"lat": 52.515, "lng": 13.365},
                            headers=callers["customer"])  # fmt: skip
    assert hole.json()["served"] is False
    bad = await client.get("/api/v1/zones/service-area", params={"lat": 95, "lng": 13.4}, headers=callers["customer"])
    assert bad.status_code in (400, 422)
    assert (await client.get("/api/v1/zones/service-area", params={"lat": 52.5, "lng": 13.4})).status_code == 401


async def test_openapi_documents_every_zones_answer(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path, method in (
        ("/api/v1/zones", "get"),
        ("/api/v1/zones", "post"),
        ("/api/v1/zones/{zone_id}", "get"),
        ("/api/v1/zones/{zone_id}", "put"),
        ("/api/v1/zones/{zone_id}", "delete"),
        ("/api/v1/zones/import", "post"),
        ("/api/v1/zones/export.geojson", "get"),
    ):
        answers = paths[path][method]["responses"]
        assert any(code.startswith("2") for code in answers), (path, method)
        assert {"401", "404", "429", "503"} <= set(answers), (path, method)
    deleted = paths["/api/v1/zones/{zone_id}"]["delete"]["responses"]["204"]
    assert "content" not in deleted  # a 204 has no body
    exported = paths["/api/v1/zones/export.geojson"]["get"]["responses"]["200"]
    assert list(exported["content"]) == ["application/geo+json"]
