"""The alerts API: staff list and acknowledge; riders and drivers are not told it exists (404);
acknowledging is audited; every answer and error is documented in OpenAPI."""

from __future__ import annotations

import time

import httpx
import pytest
from helpers import browser_login, make_driver, make_fare, make_user

from hexfleet import audit
from hexfleet.alerts import desk
from hexfleet.rides import bookings, quotes
from webapp.services import services

API = "/api/v1/alerts"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def raised(app, db):
    """Two bookings waiting past ALERT_UNASSIGNED_S: two open alerts."""
    rides = services(app).rides
    await make_fare(db)
    customer, _ = await make_user(db, "customer")
    for _ in range(2):
        quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest((52.52, 13.405), (52.53, 13.43)))
        await bookings.create_booking(
            rides,
            bookings.Viewer(customer.id, "customer"),
            bookings.BookingRequest(quote.id, "Rita", "+49 30 555", confirm_no_driver=True),
        )
    rules = services(app).settings.alert_rules()
    report = await desk.evaluate(rides.pool, rides.store, rides.router, rules, now=time.time() + rules.unassigned_s + 1)
    assert len(report.raised) == 2
    return report.raised


async def test_staff_list_and_acknowledge(client, db, raised):
    _, token = await make_user(db, "dispatcher")
    listed = await client.get(API, headers=bearer(token))
    assert listed.status_code == 200 and listed.headers["cache-control"] == "no-store"
    body = listed.json()
    assert body["counts"] == {"open": 2, "acknowledged": 0}
    assert [a["id"] for a in body["alerts"]] == sorted((a.id for a in raised), reverse=True)  # newest first
    first = body["alerts"][0]
    assert first["rule"] == "unassigned" and first["state"] == "open" and first["subject"]["kind"] == "booking"

    done = await client.post(f"{API}/{first['id']}/acknowledge", json={"note": "rang the rider"}, headers=bearer(token))
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["note"]) == ("acknowledged", "rang the rider")
    again = await client.post(f"{API}/{first['id']}/acknowledge", json={}, headers=bearer(token))
    assert again.status_code == 409 and again.json()["current_state"] == "acknowledged"
    assert again.headers["content-type"] == "application/problem+json"

    open_only = (await client.get(API, params={"state": "open"}, headers=bearer(token))).json()
    assert [a["id"] for a in open_only["alerts"]] == [body["alerts"][1]["id"]]
    assert open_only["counts"] == {"open": 1, "acknowledged": 1}
    acked = (await client.get(API, params={"state": "acknowledged"}, headers=bearer(token))).json()
    assert [a["acknowledged_by"] for a in acked["alerts"]] == ["dispatcher1@example.org"]
    assert (await client.get(API, params={"state": "resolved"}, headers=bearer(token))).json()["alerts"] == []

    async with db.acquire() as conn:
        [entry] = [e for e in await audit.recent(conn) if e.action == "alert.acknowledge"]
    assert entry.target_id == first["id"] and entry.details == {"note": "rang the rider"}


async def test_an_empty_body_acknowledges_without_a_note(client, db, raised):
    _, token = await make_user(db, "admin")
    done = await client.post(f"{API}/{raised[0].id}/acknowledge", json={}, headers=bearer(token))
    assert done.status_code == 200 and done.json()["note"] is None


@pytest.mark.parametrize(
    ("query", "body", "status", "code"),
    [
        ({"state": "closed"}, None, 422, "unknown-state"),
        ({"state": ","}, None, 422, "unknown-state"),
        ({"limit": "0"}, None, 422, None),
        ({"limit": "501"}, None, 422, None),
        (None, {"note": "x" * 501}, 422, None),
        (None, {"note": 12}, 422, None),
    ],
)
async def test_bad_input_is_a_clear_problem(client, db, raised, query, body, status, code):
    _, token = await make_user(db, "dispatcher")
    if body is None:
        answer = await client.get(API, params=query, headers=bearer(token))
    else:
        answer = await client.post(f"{API}/{raised[0].id}/acknowledge", json=body, headers=bearer(token))
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json" and answer.json()["detail"]
    if code:
        assert answer.json()["type"].endswith(code)


async def test_unknown_alert_is_404(client, db, raised):
    _, token = await make_user(db, "dispatcher")
    for alert_id in (raised[-1].id + 100, 2**63 - 1):
        answer = await client.post(f"{API}/{alert_id}/acknowledge", json={}, headers=bearer(token))
        assert answer.status_code == 404


async def test_riders_and_drivers_get_404_anonymous_401(client, db, raised):
    _, customer = await make_user(db, "customer")
    _, device = await make_driver(db, "Outsider")
    for headers in (bearer(customer), bearer(device.token)):
        assert (await client.get(API, headers=headers)).status_code == 404
        answer = await client.post(f"{API}/{raised[0].id}/acknowledge", json={}, headers=headers)
        assert answer.status_code == 404
    assert (await client.get(API)).status_code == 401
    assert (await client.post(f"{API}/{raised[0].id}/acknowledge", json={})).status_code == 401
    assert (await db.fetchval("SELECT count(*) FROM alerts WHERE state = 'open'")) == 2  # nothing acknowledged


async def test_a_browser_needs_its_csrf_token(browsers, db, raised):
    dispatcher, _ = await make_user(db, "dispatcher")
    browser = browsers()
    headers = await browser_login(browser, dispatcher.email)
    refused = await browser.post(f"{API}/{raised[0].id}/acknowledge", json={})
    assert refused.status_code == 403
    done = await browser.post(f"{API}/{raised[0].id}/acknowledge", json={"note": "seen"}, headers=headers)
    assert done.status_code == 200 and done.json()["acknowledged_by"] == dispatcher.email


async def test_openapi_documents_every_answer(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    listed = paths[API]["get"]["responses"]
    assert {"200", "400", "401", "404", "422", "429", "503"} <= set(listed)
    acked = paths[API + "/{alert_id}/acknowledge"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "422", "429", "503"} <= set(acked)


async def test_rate_alerts_limits_each_staff_user(settings, db, redis):
    from webapp import create_app

    app = create_app(settings.with_(rate_alerts="2/minute"))
    async with app.test_app():
        _, token = await make_user(db, "dispatcher")
        _, other = await make_user(db, "admin")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            for _ in range(2):
                assert (await client.get(API, headers=bearer(token))).status_code == 200
            limited = await client.get(API, headers=bearer(token))
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
            assert "alert requests" in limited.json()["detail"]
            assert (await client.post(f"{API}/1/acknowledge", json={}, headers=bearer(token))).status_code == 429
            assert (await client.get(API, headers=bearer(other))).status_code == 200  # per user
