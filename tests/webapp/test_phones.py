"""Traccar Client (OsmAnd) and OwnTracks requests as the apps send them, against the real stack."""

import base64
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from helpers import make_driver, read_topic

from streaming.events import AttributesEvent, PingsEvent
from webapp.services import services


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
async def device(db):
    return (await make_driver(db, "Phone"))[1]


async def test_osmand_query_string_as_traccar_client_sends_it(client, settings, device):
    now = int(time.time())
    r = await client.get(
        f"/osmand?id={device.device_id}&timestamp={now}&lat=52.5&lon=13.4&speed=10&bearing=90&altitude=30"
        "&accuracy=5&batt=80&charge=true&hdop=0.9"
    )
    assert (r.status_code, r.content) == (200, b"")
    [(_, event)] = await read_topic(settings, 1)
    ping = event.pings[0]
    assert (ping.lat, ping.lng, ping.ts, ping.heading, ping.battery, ping.altitude_m) == (52.5, 13.4, now, 90, 80, 30)
    assert ping.speed_mps == pytest.approx(5.14444, abs=1e-4)  # 10 knots
    assert ping.attributes == {"charge": True, "hdop": 0.9}


async def test_osmand_form_body_and_json(client, settings, device):
    # Timestamps from now: the ingest's time filter judges them against the server clock.
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    r = await client.post("/osmand", data={"deviceid": device.device_id, "location": "52.51,13.41",
                                           "timestamp": now.strftime("%Y-%m-%d %H:%M:%S")})  # fmt: skip
    assert r.status_code == 200
    body = {
        "device_id": device.device_id,
        "location": [
            {"timestamp": rfc3339(now + timedelta(seconds=5)), "coords": {"latitude": 52.52, "longitude": 13.42,
             "speed": -1, "heading": -1, "accuracy": 8}, "battery": {"level": 0.5}},
            {"timestamp": rfc3339(now + timedelta(seconds=10)), "event": "heartbeat"},
        ],
    }  # fmt: skip
    r = await client.post("/osmand", json=body)
    assert r.status_code == 200
    events = [e for _, e in await read_topic(settings, 3)]
    pings = [p for e in events if isinstance(e, PingsEvent) for p in e.pings]
    assert [(p.lat, p.speed_mps, p.battery) for p in pings] == [(52.51, None, None), (52.52, None, 50.0)]
    [attrs] = [e for e in events if isinstance(e, AttributesEvent)]
    assert attrs.attributes["event"] == "heartbeat"


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("lat=52.5&lon=13.4", 400, "device id"),
        ("id=nobody-has-this&lat=52.5&lon=13.4", 404, "no live device has this id"),
        ("id={dev}&lat=north&lon=13.4", 400, "coordinates"),
    ],
)
async def test_osmand_errors(client, device, query, status, detail):
    r = await client.get("/osmand?" + query.format(dev=device.device_id))
    assert r.status_code == status and detail in r.json()["detail"]
    assert r.headers["content-type"] == "application/problem+json"
    assert "nobody-has-this" not in r.text and device.device_id not in r.text  # a credential is never echoed


async def test_device_ids_never_come_back_in_answers_or_the_apps_logs(client, device, caplog):
    caplog.set_level(logging.DEBUG)
    guess = "0123456789abcdef0123"
    now = int(time.time())
    fix = {"lat": "52.5", "lon": "13.4", "timestamp": str(now)}
    location = {"_type": "location", "lat": 52.5, "lon": 13.4, "tst": now}
    json_report = {"device_id": guess, "location": {"coords": {"latitude": 1, "longitude": 2}}}
    sent = [  # (status, method, path, request arguments)
        (200, "GET", "/osmand", {"params": {"id": device.device_id, **fix}}),
        (404, "GET", "/osmand", {"params": {"id": guess, **fix}}),
        (404, "POST", "/osmand", {"data": {"deviceid": guess, **fix}}),
        (404, "POST", "/osmand", {"json": json_report}),
        (400, "GET", "/osmand", {"params": {**fix, "id": device.device_id, "lat": "north"}}),
        (401, "POST", "/owntracks", {"json": location, "headers": basic(guess, device.token)}),
        (401, "POST", "/owntracks", {"json": location, "headers": basic(device.device_id, "hfd_wrong")}),
        (400, "POST", "/owntracks", {"content": b"[1,", "headers": basic(device.device_id, device.token)}),
    ]
    for status, method, path, arguments in sent:
        answer = await client.request(method, path, **arguments)
        assert answer.status_code == status, answer.text
        assert device.device_id not in answer.text and guess not in answer.text, answer.text
    assert device.device_id not in app_logs(caplog) and guess not in app_logs(caplog)


def app_logs(caplog) -> str:
    """What the app and its libraries logged (the test's own HTTP client logs the URLs it sends)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))


async def test_a_database_outage_logs_the_request_but_no_device_id(relayed, db, caplog):
    import httpx

    from webapp import create_app

    settings, relay = await relayed("database_url")
    _, device = await make_driver(db, "Unlucky Phone")  # not cached yet: its lookup needs PostgreSQL
    app = create_app(settings)
    root = logging.getLogger()
    root.addHandler(caplog.handler)  # create_app set the process's log handlers: listen again
    try:
        async with app.test_app():
            caplog.set_level(logging.INFO)
            await relay.cut()
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
                fix = {"id": device.device_id, "lat": "52.5", "lon": "13.4", "timestamp": str(int(time.time()))}
                osmand = await client.get("/osmand", params=fix)
                location = {"_type": "location", "lat": 52.5, "lon": 13.4, "tst": int(time.time())}
                credentials = basic(device.device_id, device.token)
                owntracks = await client.post("/owntracks", json=location, headers=credentials)
    finally:
        root.removeHandler(caplog.handler)
    assert (osmand.status_code, owntracks.status_code) == (503, 503)
    logged = app_logs(caplog)
    assert "GET /osmand: 503" in logged and "POST /owntracks: 503" in logged  # the outage is logged ...
    assert device.device_id not in logged and device.token not in logged  # ... without the credentials


@pytest.mark.time_rejections
async def test_osmand_judged_fixes_answer_200_and_are_counted(client, device, db, app):
    future = int(time.time()) + 86400
    for query in (f"lat=0&lon=0&timestamp={int(time.time())}", f"lat=52.5&lon=13.4&timestamp={future}"):
        r = await client.get(f"/osmand?id={device.device_id}&{query}")
        assert (r.status_code, r.content) == (200, b"")  # never block the phone's queue
    metrics = (await client.get("/metrics")).text
    assert 'hexfleet_pings_rejected_total{reason="invalid"} 1.0' in metrics
    assert 'hexfleet_pings_rejected_total{reason="future"} 1.0' in metrics


async def test_owntracks_location_and_other_types(client, settings, device):
    now = int(time.time())
    location = {"_type": "location", "lat": 52.53, "lon": 13.43, "tst": now, "acc": 12, "alt": 40, "vel": 36,
                "cog": 180, "batt": 64, "tid": "ph"}  # fmt: skip
    r = await client.post("/owntracks", json=location, headers=basic(device.device_id, device.token))
    assert (r.status_code, r.json()) == (200, [])
    r = await client.post("/owntracks", json={"_type": "transition", "event": "enter"},
                          headers=basic(device.device_id, device.token))  # fmt: skip
    assert (r.status_code, r.json()) == (200, [])
    [(_, event)] = await read_topic(settings, 1)
    ping = event.pings[0]
    assert (ping.lat, ping.heading, ping.accuracy_m, ping.altitude_m, ping.battery) == (52.53, 180, 12, 40, 64)
    assert ping.speed_mps == pytest.approx(10.0)  # 36 km/h


@pytest.mark.parametrize("who", ["wrong-token", "no-auth", "headers-only"])
async def test_owntracks_needs_basic_credentials(client, device, who):
    headers = {
        "wrong-token": basic(device.device_id, "hfd_wrong"),
        "no-auth": {},
        # X-Limit-U/D name a user and device but never grant identity.
        "headers-only": {"X-Limit-U": device.device_id, "X-Limit-D": device.device_id},
    }[who]
    r = await client.post(
        "/owntracks?u=x&d=y", json={"_type": "location", "lat": 1, "lon": 1, "tst": 1}, headers=headers
    )
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")


async def test_owntracks_unreadable_body_is_400(client, device):
    r = await client.post("/owntracks", content=b"[1, 2", headers=basic(device.device_id, device.token))
    assert r.status_code == 400


@pytest.mark.time_rejections
async def test_detail_pane_shows_the_last_filtered_fix(client, app, db):
    from helpers import make_user

    from hexfleet.tracking.pings import Ping

    drv, device = await make_driver(db, "Clock Skew")
    now = time.time()
    await services(app).store.apply_fixes([(drv.id, Ping(52.5, 13.4, now - 30), now - 30)])
    r = await client.get(f"/osmand?id={device.device_id}&lat=52.5&lon=13.4&timestamp={int(now) + 7200}")
    assert r.status_code == 200
    await make_user(db, "dispatcher", email="desk@example.org")
    login = await client.post("/login", data={"email": "desk@example.org", "password": "correct-horse"})
    cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
    pane = await client.get(f"/ui/drivers/{drv.id}", headers={"Cookie": cookie, "HX-Request": "true"})
    assert "Last filtered fix" in pane.text and "Timestamp is in the future" in pane.text
    listing = (await client.get("/api/v1/drivers", headers={"Cookie": cookie})).json()
    assert listing["drivers"][0]["last_problem"] == "future"
