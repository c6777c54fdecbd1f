"""/admin/fares through the real app: every class's fare in the currency's units, refused
per field, saved with an audit entry, the sample trip priced as the admin types, and new
quotes priced by what was saved."""

from __future__ import annotations

import re

from helpers import browser_login, make_fare, make_user

from hexfleet import audit
from hexfleet.rides import queries as q

HX = {"HX-Request": "true"}
FORM = {
    "currency": "EUR",
    "base": "3.00",
    "per_km": "1.50",
    "per_minute": "0.40",
    "booking_fee": "0.50",
    "minimum": "8",
}


async def admin(client, db) -> dict:
    user, _ = await make_user(db, "admin", "boss@example.org")
    return {**await browser_login(client, user.email), **HX}


def sample_minor(html: str) -> int:
    return int(re.search(r'data-sample-minor="(\d+)"', html).group(1))


async def test_the_page_shows_every_class_and_links_from_the_admin_tabs(client, db):
    headers = await admin(client, db)
    await make_fare(db)  # standard only
    page = await client.get("/admin/fares", headers={k: v for k, v in headers.items() if k != "HX-Request"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert '<a class="admin-tab" href="/admin/fares" aria-current="page">Fares</a>' in page.text
    for vehicle_class in ("standard", "comfort", "xl", "van"):
        assert f'id="fare-{vehicle_class}"' in page.text and f'hx-post="/admin/fares/{vehicle_class}"' in page.text
    assert 'id="fare-standard-base" name="base" type="text" value="2.50"' in page.text  # in euros, not cents
    assert "no fare: quotes for Comfort are refused" in page.text
    # The sample trip is priced again as the admin types (htmx asks the preview with the form's fields).
    assert 'hx-get="/admin/fares/standard/preview" hx-include="closest form"' in page.text
    assert 'hx-trigger="input from:closest form delay:300ms"' in page.text
    # The demo's standard fare on a 5 km, 15 min trip: 2.50 + 6.75 + 4.50 + 1.00.
    standard = page.text.split('id="fare-standard"', 1)[1].split("</section>", 1)[0]
    assert sample_minor(standard) == 1475 and "14.75 EUR" in standard


async def test_a_fare_is_saved_audited_and_used_by_the_next_quote(client, db):
    headers = await admin(client, db)
    saved = await client.post("/admin/fares/comfort", data=FORM, headers=headers)
    assert saved.status_code == 200, saved.text
    assert "Saved: new quotes use it at once" in saved.text and 'id="fare-comfort"' in saved.text
    # 3.00 + 7.50 + 6.00 + 0.50 = 17.00 for the sample trip.
    assert sample_minor(saved.text) == 1700
    async with db.acquire() as conn:
        fare = await q.get_fare(conn, "comfort")
        entries = await audit.recent(conn, 10)
    assert (fare.currency, fare.base_minor, fare.per_km_minor, fare.per_minute_minor) == ("EUR", 300, 150, 40)
    assert (fare.booking_fee_minor, fare.minimum_minor) == (50, 800)
    [entry] = entries
    assert (entry.action, entry.actor, entry.target_label) == ("fare.set", "boss@example.org", "comfort")
    assert entry.details["base"] == [None, "3.00"] and entry.details["currency"] == [None, "EUR"]

    # Saving the same again changes nothing and logs nothing; a change logs what changed.
    again = await client.post("/admin/fares/comfort", data=FORM, headers=headers)
    assert "No change" in again.text and await db.fetchval("SELECT count(*) FROM audit_log") == 1
    await client.post("/admin/fares/comfort", data={**FORM, "minimum": "9.5"}, headers=headers)
    async with db.acquire() as conn:
        latest = (await audit.recent(conn, 1))[0]
    assert latest.details == {"minimum": ["8.00", "9.50"]}
    log = (await client.get("/admin/audit", headers=headers)).text
    assert "set the fare of" in log and "8.00 → 9.50" in log

    _, rider = await make_user(db, "customer")
    quote = await client.post(
        "/api/v1/quotes",
        json={
            "pickup": {"lat": 52.52, "lng": 13.405},
            "dropoff": {"lat": 52.53, "lng": 13.43},
            "vehicle_class": "comfort",
        },
        headers={"Authorization": f"Bearer {rider}"},
    )
    assert quote.status_code == 201 and quote.json()["breakdown"]["base_minor"] == 300


async def test_mistakes_are_named_per_field_and_nothing_is_saved(client, db):
    headers = await admin(client, db)
    await make_fare(db, "xl")
    bad = {**FORM, "currency": "EUR", "base": "3,00", "per_km": "-1", "minimum": "0.005"}
    refused = await client.post("/admin/fares/xl", data=bad, headers=headers)
    assert refused.status_code == 400
    text = refused.text
    assert "Not saved: please check the fields marked below." in text
    assert "Base: write decimals with a point and no thousands separators (12.50), not &#39;3,00&#39;." in text
    assert "Per km must not be negative (-1)." in text and "Minimum: EUR has 2 decimals, 0.005 has 3." in text
    assert 'id="fare-xl-base" name="base" type="text" value="3,00"' in text  # what was typed stays
    assert text.count('aria-invalid="true"') == 3
    assert "The price shows once the fields marked are right." in text
    async with db.acquire() as conn:
        assert (await q.get_fare(conn, "xl")).base_minor == 450  # the demo's, untouched
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 0
    assert (
        "JPY has no minor unit"
        in (await client.post("/admin/fares/xl", data={**FORM, "currency": "jpy"}, headers=headers)).text
    )
    missing = await client.post("/admin/fares/xl", data={"currency": "EUR"}, headers=headers)
    assert missing.status_code == 400 and "Enter the per km (0 for none)." in missing.text
    unknown = await client.post("/admin/fares/limousine", data=FORM, headers=headers)
    assert unknown.status_code == 404 and "limousine" in unknown.text


async def test_the_sample_follows_what_is_typed(client, db):
    headers = await admin(client, db)
    await make_fare(db, "van")  # saved: 6.00 + 12.00 + 7.50 + 1.50 = 27.00
    typed = {**FORM, "currency": "EUR"}
    preview = await client.get("/admin/fares/van/preview", params=typed, headers=headers)
    assert preview.status_code == 200
    assert sample_minor(preview.text) == 1700 and "saved fare: 27.00 EUR" in preview.text
    low = await client.get("/admin/fares/van/preview", params={**typed, "minimum": "30"}, headers=headers)
    assert sample_minor(low.text) == 3000 and "raised to the minimum (+13.00)" in low.text
    wrong = await client.get("/admin/fares/van/preview", params={**typed, "base": "lots"}, headers=headers)
    assert wrong.status_code == 200 and "data-sample-minor" not in wrong.text
    assert "The price shows once the fields marked are right." in wrong.text
    assert (await client.get("/admin/fares/nope/preview", params=typed, headers=headers)).status_code == 404
