"""Fleet admin pages (/admin) through the real app: drivers (add, edit, deactivate, reactivate,
device credentials), staff accounts (add, disable, enable, reset a password) and the audit log.

Every request goes through a signed-in browser session with its CSRF token, as htmx sends it;
the effects are checked where they matter (the ingest, the control room, the live index, sign-in).
"""

from __future__ import annotations

import html as html_lib
import re
import time
from datetime import UTC, datetime

import httpx
import pytest
from helpers import make_driver, make_fare, make_user, place_driver, stored_devices, wait_for

from hexfleet import audit
from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers import revocation
from hexfleet.rides import bookings, dispatch, quotes
from webapp.pages.admin import AUDIT_PAGE
from webapp.services import services

PASSWORD = "correct-horse"
PINGS = "/api/v1/driver/pings"
HX = {"HX-Request": "true"}
TOKEN = re.compile(r"<code class=\"secret\" data-token>([^<]+)</code>")
DEVICE_ID = re.compile(r"data-device-id-once>([^<]+)</code>")
SECRET_PASSWORD = re.compile(r"data-password>([^<]+)</code>")


@pytest.fixture
def settings(settings):
    # A device cache that outlives every test: an old token can only stop working because the
    # deactivation was announced, never because its cache entry happened to expire.
    return settings.with_(auth_cache_ttl_s=600.0)


class Browser:
    """A signed-in browser: htmx's requests carry the page's CSRF token in X-CSRF-Token."""

    def __init__(self, client: httpx.AsyncClient, csrf: str, user=None) -> None:
        self.client, self.csrf, self.user = client, csrf, user

    async def get(self, path: str, **kwargs) -> httpx.Response:
        return await self.client.get(path, headers=HX, **kwargs)

    async def page(self, path: str) -> httpx.Response:
        """A full page load (no htmx header)."""
        return await self.client.get(path)

    async def post(self, path: str, data: dict | None = None, csrf: bool = True) -> httpx.Response:
        headers = {**HX, **({"X-CSRF-Token": self.csrf} if csrf else {})}
        return await self.client.post(path, data=data or {}, headers=headers)

    async def signed_in(self) -> bool:
        return (await self.client.get("/api/v1/bookings")).status_code == 200  # any role may list its bookings


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return await client.post("/login", data={"email": email, "password": password, "csrf_token": csrf})


async def browser_for(browsers, email: str, password: str = PASSWORD, user=None) -> Browser:
    client = browsers()
    response = await sign_in(client, email, password)
    assert response.status_code == 302, response.text
    page = await client.get("/account")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
    return Browser(client, csrf, user)


@pytest.fixture
async def admin(db, browsers) -> Browser:
    user, _ = await make_user(db, "admin", "boss@example.org")
    return await browser_for(browsers, user.email, user=user)


async def audit_entries(db) -> list[audit.Entry]:
    async with db.acquire() as conn:
        return await audit.recent(conn, 500)


async def ping(client: httpx.AsyncClient, token: str) -> int:
    body = {"lat": 52.52, "lng": 13.405, "ts": time.time()}
    response = await client.post(PINGS, json=body, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def revocations_heard(redis) -> None:
    """The app's revocation listener has subscribed (it starts with the app, asynchronously)."""

    async def subscribed():
        [(_, count)] = await redis.pubsub_numsub(revocation.CHANNEL)
        return count >= 1

    await wait_for(subscribed)


def text_of(response: httpx.Response) -> str:
    """What a reader sees: the text without tags, entities decoded, white space collapsed."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def driver_form(**changes: str) -> dict:
    return {
        "name": "Ada Lovelace",
        "phone": "+49 30 1234567",
        "vehicle_plate": "b-al 101",
        "vehicle_class": "comfort",
        **changes,
    }


async def add_driver(admin: Browser, **changes: str) -> tuple[int, str]:
    """Add a driver through the page; returns its id and the device token shown once."""
    response = await admin.post("/admin/drivers", driver_form(**changes))
    assert response.status_code == 201, response.text
    driver_id = int(re.search(r"is in the fleet \(#(\d+)\)", response.text).group(1))
    return driver_id, TOKEN.search(response.text).group(1)


async def count(db, table: str) -> int:
    return await db.fetchval(f"SELECT count(*) FROM {table}")  # table names are ours, never input


# ---------------------------------------------------------------- the pages


@pytest.mark.parametrize(
    ("path", "tab"), [("/admin/drivers", "Drivers"), ("/admin/users", "Accounts"), ("/admin/audit", "Audit log")]
)
async def test_each_admin_page_opens_with_its_tab_and_htmx(admin, path, tab):
    response = await admin.page(path)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert f'href="{path}" aria-current="page">{tab}</a>' in response.text
    # Every button on these pages is an htmx request: without the script none of them did anything.
    assert re.search(r'<script src="/static/vendor/htmx-[\d.]+/htmx\.min\.js(\?v=\w+)?"></script>', response.text)
    assert (await admin.page("/admin")).headers["location"] == "/admin/drivers"


# ---------------------------------------------------------------- adding drivers


async def test_admin_adds_a_driver_and_sees_its_device_token_and_qr_codes_once(client, admin, db):
    response = await admin.post("/admin/drivers", driver_form())
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"  # it carries a device token
    assert response.headers["HX-Trigger"] == "drivers-changed"  # the list below reloads
    html = response.text
    assert "<strong>Ada Lovelace</strong> is in the fleet" in html

    async with db.acquire() as conn:
        [driver] = await driver_queries.list_drivers(conn)
    # The plate is stored as plates are written; the class is the vehicle's.
    assert (driver.name, driver.phone, driver.vehicle_plate, driver.vehicle_class) == (
        "Ada Lovelace",
        "+49 30 1234567",
        "B-AL 101",
        "comfort",
    )
    assert driver.deactivated_at is None

    token = TOKEN.search(html).group(1)
    device_id = DEVICE_ID.search(html).group(1)
    assert "They are shown only this once" in html
    assert html.count(device_id) >= 4  # the notice, the Traccar identifier, OwnTracks' user and device id
    assert html.count('<svg width="') == 2  # Traccar's and OwnTracks' QR codes (the latter carries the token)
    assert await ping(client, token) == 202  # the token shown is the phone's real credential
    osmand = await client.get(f"/osmand?id={device_id}&lat=52.52&lon=13.405&timestamp={int(time.time())}")
    assert osmand.status_code == 200  # and so is the device id
    assert device_id not in await stored_devices(db)  # kept hashed, like the token

    # Shown once: neither the list, the detail card nor the connect section shows them again.
    for path in (
        "/admin/drivers",
        f"/ui/drivers/{driver.id}/connect",
        f"/admin/drivers/{driver.id}",
        f"/ui/drivers/{driver.id}",
    ):
        later = await admin.get(path)
        assert later.status_code == 200 and token not in later.text and device_id not in later.text, path
    later = (await admin.get(f"/ui/drivers/{driver.id}/connect")).text
    assert "shown only when it is created or rotated" in later and "it cannot be shown again" in later
    assert f"•••• {device_id[-4:]}" in later and "<svg" not in later  # no QR code: it would carry the id

    [entry] = await audit_entries(db)
    assert (entry.action, entry.actor, entry.target_type, entry.target_id, entry.target_label) == (
        "driver.create",
        "boss@example.org",
        "driver",
        driver.id,
        "Ada Lovelace",
    )
    assert entry.details == {"phone": "+49 30 1234567", "vehicle_plate": "B-AL 101", "vehicle_class": "comfort"}
    assert token not in str(entry.details) and device_id not in str(entry.details)
    assert abs((datetime.now(UTC) - entry.at).total_seconds()) < 60

    # The list's refresh (HX-Trigger above) shows the driver, and the heading's count follows.
    rows = await admin.get("/admin/drivers/rows")
    assert f'id="driver-row-{driver.id}"' in rows.text and "B-AL 101" in rows.text
    assert '<span id="driver-count" hx-swap-oob="true">1 active driver</span>' in rows.text


async def test_a_driver_without_phone_or_plate_rides_as_standard(admin, db):
    driver_id, _ = await add_driver(admin, name="  Bare Minimum  ", phone="", vehicle_plate="", vehicle_class="xl")
    async with db.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)
    assert (driver.name, driver.phone, driver.vehicle_plate, driver.vehicle_class) == ("Bare Minimum", None, None, None)
    row = await admin.get(f"/admin/drivers/{driver_id}")
    assert "none (rides as standard)" in row.text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Enter the driver's name (up to 200 characters)."),
        ({"name": "   "}, "name", "Enter the driver's name (up to 200 characters)."),
        ({"name": "N" * 201}, "name", "Enter the driver's name (up to 200 characters)."),
        ({"phone": "call me maybe"}, "phone", "Enter a phone number such as +49 30 1234567, or leave it empty."),
        ({"vehicle_plate": "B/AL<1>"}, "vehicle_plate", "Use letters, digits, spaces and dashes (up to 20)"),
        ({"vehicle_plate": "B" * 21}, "vehicle_plate", "Use letters, digits, spaces and dashes (up to 20)"),
        ({"vehicle_class": "limousine"}, "vehicle_class", "Choose one of standard, comfort, xl, van."),
        ({"vehicle_class": ""}, "vehicle_class", "Choose one of standard, comfort, xl, van."),
    ],
)
async def test_driver_form_mistakes_are_shown_in_the_form_and_nothing_is_added(admin, db, changes, field, message):
    response = await admin.post("/admin/drivers", driver_form(**changes))
    assert response.status_code == 400
    text = text_of(response)
    assert message in text and "The driver was not added" in text and "Traceback" not in text
    assert 'hx-post="/admin/drivers"' in response.text  # the form again, ready to correct
    if field != "vehicle_class":
        assert f'id="new-driver-{field}" name="{field}"' in response.text
        assert f'aria-describedby="new-driver-{field}-error"' in response.text
    # What was typed stays in the form (escaped), so only the mistake needs fixing.
    for name, value in driver_form(**changes).items():
        if name != "vehicle_class" and name != field and value.strip():
            assert f'value="{html_lib.escape(value)}"' in response.text, name
    assert await count(db, "drivers") == 0 and await count(db, "devices") == 0
    assert await count(db, "vehicles") == 0 and await count(db, "audit_log") == 0


async def test_an_empty_or_missing_form_is_refused_readably(admin, db):
    for data in ({}, {"name": ""}, {"unexpected": "x"}):
        response = await admin.post("/admin/drivers", data)
        assert response.status_code == 400
        assert "Enter the driver's name (up to 200 characters)." in text_of(response)
    assert await count(db, "drivers") == 0


async def test_a_plate_another_driver_drives_is_refused_and_nothing_changes(admin, db):
    grace_id, _ = await add_driver(admin, name="Grace Hopper", vehicle_plate="B-GH 1", vehicle_class="xl")
    ada_id, _ = await add_driver(admin, name="Ada Lovelace", vehicle_plate="B-AL 1", vehicle_class="standard")
    entries_before = len(await audit_entries(db))

    # Adding a third driver with Grace's plate (in other letters' case) is refused in the form.
    response = await admin.post("/admin/drivers", driver_form(name="Third", vehicle_plate="b-gh 1"))
    assert response.status_code == 400
    text = text_of(response)
    assert "Vehicle B-GH 1 already has a driver: Grace Hopper" in text and f"#{grace_id}" in text
    assert "The driver was not added" in text
    assert await count(db, "drivers") == 2 and await count(db, "devices") == 2

    # Ada taking Grace's plate on edit: refused in the edit form, nobody's vehicle changes.
    edit = await admin.post(f"/admin/drivers/{ada_id}", driver_form(vehicle_plate="B-GH 1", vehicle_class="van"))
    assert edit.status_code == 400
    assert "Vehicle B-GH 1 already has a driver: Grace Hopper" in text_of(edit) and "Nothing was saved" in edit.text
    assert f'hx-post="/admin/drivers/{ada_id}"' in edit.text
    async with db.acquire() as conn:
        grace = await driver_queries.get_driver(conn, grace_id)
        ada = await driver_queries.get_driver(conn, ada_id)
    assert (grace.vehicle_plate, grace.vehicle_class) == ("B-GH 1", "xl")  # not turned into a van
    assert (ada.name, ada.vehicle_plate, ada.vehicle_class) == ("Ada Lovelace", "B-AL 1", "standard")
    assert len(await audit_entries(db)) == entries_before


async def test_a_deactivated_drivers_plate_is_named_and_can_be_freed(admin, db):
    grace_id, _ = await add_driver(admin, name="Grace Hopper", vehicle_plate="B-GH 1")
    assert (await admin.post(f"/admin/drivers/{grace_id}/deactivate")).status_code == 200

    refused = await admin.post("/admin/drivers", driver_form(name="New Driver", vehicle_plate="B-GH 1"))
    assert refused.status_code == 400
    assert (
        f"Vehicle B-GH 1 already has a driver: Grace Hopper (#{grace_id}, deactivated; edit them to free it)."
        in text_of(refused)
    )

    # A deactivated driver can still be edited: giving up the plate frees the vehicle.
    row = await admin.get("/admin/drivers/rows?show=all")
    assert f'hx-get="/admin/drivers/{grace_id}/edit"' in row.text
    freed = await admin.post(f"/admin/drivers/{grace_id}", driver_form(name="Grace Hopper", vehicle_plate=""))
    assert freed.status_code == 200 and "Saved." in freed.text and "deactivated" in freed.text
    new_id, _ = await add_driver(admin, name="New Driver", vehicle_plate="B-GH 1", vehicle_class="van")
    async with db.acquire() as conn:
        new = await driver_queries.get_driver(conn, new_id)
    assert (new.vehicle_plate, new.vehicle_class) == ("B-GH 1", "van")


# ---------------------------------------------------------------- editing drivers


async def test_edit_changes_name_phone_plate_and_class_and_audits_the_changes(admin, db):
    driver_id, token = await add_driver(admin)
    form = await admin.get(f"/admin/drivers/{driver_id}/edit")
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    for value in (
        'value="Ada Lovelace"',
        'value="+49 30 1234567"',
        'value="B-AL 101"',
        '<option value="comfort" selected',
    ):
        assert value in form.text

    changed = driver_form(name="Ada King", phone="+44 20 7946 0000", vehicle_plate="ab-12 cd", vehicle_class="van")
    response = await admin.post(f"/admin/drivers/{driver_id}", changed)
    assert response.status_code == 200, response.text
    assert "Saved." in response.text and "Ada King" in response.text and "AB-12 CD" in response.text
    assert f'id="driver-row-{driver_id}"' in response.text  # the row again, swapped in place
    async with db.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)
        old_vehicle = await conn.fetchval("SELECT count(*) FROM drivers d JOIN vehicles v ON v.id = d.vehicle_id "
                                          "WHERE v.plate = 'B-AL 101'")  # fmt: skip
    assert (driver.name, driver.phone, driver.vehicle_plate, driver.vehicle_class) == (
        "Ada King",
        "+44 20 7946 0000",
        "AB-12 CD",
        "van",
    )
    assert old_vehicle == 0  # the old vehicle is free for another driver

    update = (await audit_entries(db))[0]
    assert (update.action, update.target_id, update.target_label) == ("driver.update", driver_id, "Ada King")
    assert update.details == {
        "name": ["Ada Lovelace", "Ada King"],
        "phone": ["+49 30 1234567", "+44 20 7946 0000"],
        "vehicle_plate": ["B-AL 101", "AB-12 CD"],
        "vehicle_class": ["comfort", "van"],
    }

    # Saving the same values again changes nothing, so the log says nothing.
    again = await admin.post(f"/admin/drivers/{driver_id}", changed)
    assert again.status_code == 200 and "Saved." in again.text
    assert [e.action for e in await audit_entries(db)] == ["driver.update", "driver.create"]
    # Editing never touches the device: the phone keeps sending.
    assert await ping(admin.client, token) == 202

    page = text_of(await admin.page("/admin/audit"))
    assert "edited driver" in page and "Ada Lovelace → Ada King" in page and "comfort → van" in page


async def test_edit_mistakes_are_shown_and_nothing_is_saved(admin, db):
    driver_id, _ = await add_driver(admin)
    response = await admin.post(f"/admin/drivers/{driver_id}", driver_form(name="", phone="not a phone"))
    assert response.status_code == 400
    text = text_of(response)
    assert "Nothing was saved" in text and "Enter the driver's name" in text and "Enter a phone number" in text
    assert f'id="edit-{driver_id}-phone"' in response.text and 'value="not a phone"' in response.text
    async with db.acquire() as conn:
        assert (await driver_queries.get_driver(conn, driver_id)).name == "Ada Lovelace"
    assert [e.action for e in await audit_entries(db)] == ["driver.create"]


async def test_unknown_drivers_are_a_readable_404(admin):
    for method, path in (
        ("get", "/admin/drivers/999999/edit"),
        ("get", "/admin/drivers/999999"),
        ("post", "/admin/drivers/999999"),
        ("post", "/admin/drivers/999999/deactivate"),
        ("post", "/admin/drivers/999999/reactivate"),
    ):
        response = await (admin.get(path) if method == "get" else admin.post(path, driver_form()))
        assert response.status_code == 404, (method, path, response.status_code)
        assert "no driver with id 999999" in response.text and "Traceback" not in response.text


# ---------------------------------------------------------------- deactivating drivers


async def searching_booking(app, db):
    """A customer's booking for now, waiting for a driver."""
    customer, _ = await make_user(db, "customer")
    rides = services(app).rides
    quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest((52.52, 13.405), (52.53, 13.43)))
    return await bookings.create_booking(
        rides,
        bookings.Viewer(customer.id, "customer"),
        bookings.BookingRequest(quote.id, "Rita", "+4930555", None, None),
    )


async def on_duty_nearby(client, db, app, driver_id: int) -> None:
    """Available (as a dispatcher sets it) with a fresh fix near the pickup."""
    _, staff_token = await make_user(db, "dispatcher")
    response = await client.post(
        f"/api/v1/drivers/{driver_id}/status",
        json={"status": "available"},
        headers={"Authorization": f"Bearer {staff_token}"},
    )
    assert response.status_code == 200, response.text
    await place_driver(services(app).store, driver_id, 52.5201, 13.4051)


@pytest.mark.parametrize("work", ["pending offer", "assigned ride"])
async def test_deactivation_is_refused_while_the_driver_has_work_in_hand(client, app, admin, db, work):
    await make_fare(db)
    driver_id, token = await add_driver(admin, vehicle_class="standard")
    await on_duty_nearby(client, db, app, driver_id)
    booking = await searching_booking(app, db)
    rides = services(app).rides
    if work == "pending offer":
        offer = await dispatch.offer_next(rides, booking.id)
        assert offer is not None and offer.driver_id == driver_id
    else:
        who = dispatch.Who(dispatch.Actor.DISPATCHER, admin.user.id)
        assigned = await dispatch.assign(rides, booking.id, driver_id, who)
        assert assigned.driver_id == driver_id and assigned.status == "assigned"

    response = await admin.post(f"/admin/drivers/{driver_id}/deactivate")
    assert response.status_code == 409
    assert f"Ada Lovelace has booking #{booking.id} in hand: reassign or finish it first." in text_of(response)
    assert f'id="driver-row-{driver_id}"' in response.text  # the row, with the reason, swapped in place
    async with db.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)
    assert driver.deactivated_at is None
    assert await ping(client, token) == 202  # the phone still works: the ride goes on
    assert [e.action for e in await audit_entries(db)] == ["driver.create"]


async def test_deactivation_stops_the_phone_and_takes_the_driver_off_the_control_room(
    client, app, admin, db, redis, browsers
):
    from test_driver_app import signed_in_phone

    driver_id, token = await add_driver(admin, vehicle_class="standard")
    await on_duty_nearby(client, db, app, driver_id)
    phone = await signed_in_phone(browsers, db, driver_id)  # the driver web app, signed in on the phone
    assert (await phone.get("/d/me")).status_code == 200
    assert await ping(client, token) == 202  # now in the device cache for 600 s
    await revocations_heard(redis)
    dispatcher, staff_token = await make_user(db, "dispatcher")
    staff = {"Authorization": f"Bearer {staff_token}"}
    desk = await browser_for(browsers, dispatcher.email)
    assert "Ada Lovelace" in (await desk.get("/ui/drivers")).text
    store = services(app).store
    assert (await store.duty())[driver_id] == "available" and driver_id in await store.geo_members()

    response = await admin.post(f"/admin/drivers/{driver_id}/deactivate")
    assert response.status_code == 200, response.text
    assert "Deactivated: its phone can no longer send" in response.text
    assert '<span id="driver-count" hx-swap-oob="true">0 active drivers</span>' in response.text
    assert "deactivated</span>" in response.text and f'hx-post="/admin/drivers/{driver_id}/reactivate"' in response.text

    # The phone is refused at once, though its token was cached: the revocation was announced.
    assert await ping(client, token) == 401
    driver_status = await client.post(
        "/api/v1/driver/status", json={"status": "available"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert driver_status.status_code == 401
    assert (await phone.get("/d/me")).status_code == 401
    # Gone from the control room and the drivers API; off duty in PostgreSQL and the live index.
    listed = (await client.get("/api/v1/drivers", headers=staff)).json()
    assert driver_id not in [d["id"] for d in listed["drivers"]]
    assert "Ada Lovelace" not in (await desk.get("/ui/drivers")).text
    async with db.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)
        assert await driver_queries.current_device(conn, driver_id) is None
    assert driver.status == "off_duty" and driver.deactivated_at is not None
    assert (await store.duty())[driver_id] == "off_duty" and driver_id not in await store.geo_members()
    # A dispatcher cannot put it back on duty.
    back = await client.post(f"/api/v1/drivers/{driver_id}/status", json={"status": "available"}, headers=staff)
    assert back.status_code == 409 and back.json()["type"].endswith("driver-deactivated")

    # The admin list hides it unless asked.
    assert f'id="driver-row-{driver_id}"' not in (await admin.page("/admin/drivers")).text
    all_drivers = await admin.page("/admin/drivers?show=all")
    assert f'id="driver-row-{driver_id}"' in all_drivers.text and "deactivated ones included" in all_drivers.text

    # Once only: deactivating again changes nothing and logs nothing.
    assert (await admin.post(f"/admin/drivers/{driver_id}/deactivate")).status_code == 200
    assert [e.action for e in await audit_entries(db)] == ["driver.deactivate", "driver.signin_link", "driver.create"]


async def test_reactivation_brings_the_driver_back_off_duty_and_without_a_device(client, app, admin, db, redis):
    driver_id, old_token = await add_driver(admin)
    await revocations_heard(redis)
    assert (await admin.post(f"/admin/drivers/{driver_id}/deactivate")).status_code == 200

    response = await admin.post(f"/admin/drivers/{driver_id}/reactivate")
    assert response.status_code == 200
    assert "Reactivated, off duty. Connect a phone to issue it a device token." in response.text
    assert '<span id="driver-count" hx-swap-oob="true">1 active driver</span>' in response.text
    async with db.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)
        assert await driver_queries.current_device(conn, driver_id) is None
    assert driver.deactivated_at is None and driver.status == "off_duty"
    assert await ping(client, old_token) == 401  # the old phone stays out
    _, staff_token = await make_user(db, "dispatcher")
    listed = (await client.get("/api/v1/drivers", headers={"Authorization": f"Bearer {staff_token}"})).json()
    assert driver_id in [d["id"] for d in listed["drivers"]]

    connect = await admin.get(f"/ui/drivers/{driver_id}/connect")
    assert "no device yet" in connect.text and "Issue device token" in connect.text
    issued = await admin.post(f"/ui/drivers/{driver_id}/rotate")
    assert issued.status_code == 200
    new_token = TOKEN.search(issued.text).group(1)
    assert await ping(client, new_token) == 202
    assert [e.action for e in await audit_entries(db)] == [
        "driver.rotate",
        "driver.reactivate",
        "driver.deactivate",
        "driver.create",
    ]


async def test_a_deactivated_driver_gets_no_new_device(admin, db):
    driver_id, _ = await add_driver(admin)
    await admin.post(f"/admin/drivers/{driver_id}/deactivate")
    response = await admin.post(f"/ui/drivers/{driver_id}/rotate")
    assert response.status_code == 409
    assert "is deactivated: an admin can reactivate it" in response.text and "Traceback" not in response.text
    async with db.acquire() as conn:
        assert await driver_queries.current_device(conn, driver_id) is None


# ---------------------------------------------------------------- accounts


async def test_admin_adds_a_dispatcher_who_signs_in_with_the_generated_password(admin, db, browsers):
    page = await admin.page("/admin/users")
    assert page.status_code == 200 and "boss@example.org" in page.text and "(you)" in page.text

    response = await admin.post("/admin/users", {"email": " Dee.Spatch@Example.org ", "role": "dispatcher"})
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store" and response.headers["HX-Trigger"] == "users-changed"
    password = SECRET_PASSWORD.search(response.text).group(1)
    assert len(password) >= 16 and "It is shown only now." in response.text
    assert "can sign in now as dispatcher" in response.text

    dispatcher = await browser_for(browsers, "dee.spatch@example.org", password)
    assert (await dispatcher.page("/")).status_code == 200  # the control room
    with pytest.raises(AssertionError):
        await browser_for(browsers, "dee.spatch@example.org", PASSWORD)

    [entry, *_] = await audit_entries(db)
    assert (entry.action, entry.target_type, entry.target_label, entry.details) == (
        "user.create",
        "user",
        "Dee.Spatch@Example.org",
        {"role": "dispatcher"},
    )
    assert password not in str(entry.details)
    rows = await admin.get("/admin/users/rows")
    assert "Dee.Spatch@Example.org" in rows.text and password not in rows.text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"email": "not-an-email", "role": "dispatcher"}, "Enter an email address such as ann@example.org."),
        ({"email": "", "role": "dispatcher"}, "Enter an email address such as ann@example.org."),
        ({"email": "BOSS@example.org", "role": "admin"}, "An account with this email already exists."),
        ({"email": "rider@example.org", "role": "customer"}, "Choose dispatcher or admin (riders sign up themselves)."),
        ({"email": "x@example.org", "role": ""}, "Choose dispatcher or admin (riders sign up themselves)."),
        # Longer than an email can be: refused, never cut to a different address that fits.
        ({"email": "ann@example.org" + "x" * 250, "role": "dispatcher"}, "Enter an email address such as"),
    ],
)
async def test_account_form_mistakes_are_shown_and_nothing_is_added(admin, db, form, message):
    response = await admin.post("/admin/users", form)
    assert response.status_code == 400
    text = text_of(response)
    assert message in text and "The account was not added" in text and "Traceback" not in text
    assert await count(db, "users") == 1 and await count(db, "audit_log") == 0


async def test_disabling_an_account_ends_its_sessions_and_tokens_until_it_is_enabled(admin, db, browsers):
    user, api_token = await make_user(db, "dispatcher")
    bearer = {"Authorization": f"Bearer {api_token}"}
    desk = await browser_for(browsers, user.email)
    assert await desk.signed_in()

    response = await admin.post(f"/admin/users/{user.id}/disable")
    assert response.status_code == 200
    assert "Disabled: its sessions ended and its API tokens stopped." in response.text
    assert "disabled</span>" in response.text and f'hx-post="/admin/users/{user.id}/enable"' in response.text
    assert not await desk.signed_in()
    assert (await browsers().get("/api/v1/drivers", headers=bearer)).status_code == 401
    refused = await sign_in(browsers(), user.email)
    assert refused.status_code == 403 and "This account is disabled" in refused.text

    response = await admin.post(f"/admin/users/{user.id}/enable")
    assert response.status_code == 200 and "Enabled." in response.text
    assert (await browsers().get("/api/v1/drivers", headers=bearer)).status_code == 200
    assert await (await browser_for(browsers, user.email)).signed_in()
    assert [(e.action, e.target_id) for e in await audit_entries(db)] == [
        ("user.enable", user.id),
        ("user.disable", user.id),
    ]


async def test_a_password_reset_ends_old_sessions_and_tokens_and_the_new_password_works(admin, db, browsers):
    user, api_token = await make_user(db, "dispatcher")
    desk, laptop = await browser_for(browsers, user.email), await browser_for(browsers, user.email)
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert (await browsers().get("/api/v1/drivers", headers=bearer)).status_code == 200

    response = await admin.post(f"/admin/users/{user.id}/reset-password")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "New password; 2 sessions and 1 API token ended." in response.text
    password = SECRET_PASSWORD.search(response.text).group(1)
    assert not await desk.signed_in() and not await laptop.signed_in()
    assert (await browsers().get("/api/v1/drivers", headers=bearer)).status_code == 401  # revoked with it
    assert (await sign_in(browsers(), user.email, PASSWORD)).status_code == 400  # the old password is gone
    assert await (await browser_for(browsers, user.email, password)).signed_in()

    [entry] = await audit_entries(db)
    details = {"sessions_ended": 2, "tokens_revoked": 1}
    assert (entry.action, entry.target_id, entry.details) == ("user.reset_password", user.id, details)
    assert password not in str(entry.details)
    assert await admin.signed_in()  # the admin's own session is untouched


async def test_an_admin_resetting_their_own_password_stays_signed_in_here_only(admin, db, browsers):
    elsewhere = await browser_for(browsers, admin.user.email)
    response = await admin.post(f"/admin/users/{admin.user.id}/reset-password")
    assert response.status_code == 200 and "New password; 1 session and 1 API token ended." in response.text
    password = SECRET_PASSWORD.search(response.text).group(1)
    assert await admin.signed_in() and not await elsewhere.signed_in()
    assert await (await browser_for(browsers, admin.user.email, password)).signed_in()


async def test_an_admin_cannot_disable_themself(admin, db):
    row = await admin.get("/admin/users/rows")
    mine = row.text.split(f'id="user-row-{admin.user.id}"', 1)[1].split("</li>", 1)[0]
    assert "(you)" in mine and "/disable" not in mine  # no button to do it

    response = await admin.post(f"/admin/users/{admin.user.id}/disable")
    assert response.status_code == 409
    assert "You cannot disable your own account." in response.text
    assert await admin.signed_in()
    assert await db.fetchval("SELECT disabled_at FROM users WHERE id = $1", admin.user.id) is None
    assert await count(db, "audit_log") == 0


async def test_unknown_accounts_are_a_readable_404(admin):
    for action in ("disable", "enable", "reset-password"):
        response = await admin.post(f"/admin/users/999999/{action}")
        assert response.status_code == 404 and "no account with id 999999" in response.text, action


# ---------------------------------------------------------------- who may


def admin_routes(app, driver_id: int, user_id: int) -> list[tuple[str, str]]:
    """Every /admin route the app has (a new one is covered without editing this test)."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        path = rule.rule.replace("<int:driver_id>", str(driver_id)).replace("<int:user_id>", str(user_id))
        path = path.replace("<int:place_id>", "1")  # refused before any place is looked up
        path = path.replace("<vehicle_class>", "standard")
        assert "<" not in path, f"unexpected variable in {rule.rule}: teach this test its value"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


@pytest.mark.parametrize("role", ["dispatcher", "customer"])
async def test_only_admins_may_open_or_post_to_any_admin_page(app, db, browsers, role):
    driver, device = await make_driver(db, "Ada Lovelace", "B-AL 1")
    target, target_token = await make_user(db, "dispatcher")
    user, _ = await make_user(db, role)
    someone = await browser_for(browsers, user.email)
    routes = admin_routes(app, driver.id, target.id)
    assert ("POST", f"/admin/drivers/{driver.id}/deactivate") in routes and ("GET", "/admin/audit") in routes
    for method, path in routes:
        if method == "GET":
            response = await someone.page(path)
        else:
            fare = {
                "currency": "EUR",
                "base": "1",
                "per_km": "1",
                "per_minute": "1",
                "booking_fee": "1",
                "minimum": "1",
            }
            response = await someone.post(path, {**driver_form(), "email": "new@example.org", "role": "admin", **fare})
        assert response.status_code == 403, (method, path, response.status_code)
        assert "This page is for admins" in response.text and user.email in response.text
        assert "Traceback" not in response.text

    # Nothing happened: the driver is active with its phone, the account enabled, nothing added.
    async with db.acquire() as conn:
        assert (await driver_queries.get_driver(conn, driver.id)).deactivated_at is None
        current = await driver_queries.current_device(conn, driver.id)
    assert current is not None and current.row_id == device.row_id
    assert (
        await browsers().get("/api/v1/drivers", headers={"Authorization": f"Bearer {target_token}"})
    ).status_code == 200
    assert await count(db, "drivers") == 1 and await count(db, "users") == 2 and await count(db, "audit_log") == 0
    assert await count(db, "fares") == 0


async def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    driver, _ = await make_driver(db, "Ada Lovelace")
    for path in ("/admin", "/admin/drivers", "/admin/users", "/admin/audit"):
        response = await client.get(path)
        assert response.status_code == 302 and response.headers["location"] == f"/login?next={path}"
    response = await client.post(f"/admin/drivers/{driver.id}/deactivate")
    assert response.status_code == 302 and response.headers["location"].startswith("/login")
    async with db.acquire() as conn:
        assert (await driver_queries.get_driver(conn, driver.id)).deactivated_at is None


async def test_a_post_without_the_pages_csrf_token_is_refused(admin, db):
    target, _ = await make_user(db, "dispatcher")
    driver_id, _ = await add_driver(admin)
    for path, data in (
        ("/admin/drivers", driver_form(name="Forged", vehicle_plate="")),
        (f"/admin/drivers/{driver_id}/deactivate", {}),
        (f"/admin/users/{target.id}/disable", {}),
        (f"/admin/users/{target.id}/reset-password", {}),
        ("/admin/users", {"email": "forged@example.org", "role": "admin"}),
    ):
        response = await admin.post(path, data, csrf=False)
        assert response.status_code == 403, path
        assert "security token is missing or stale" in response.text, path
        # Another site posting with the admin's cookies is refused on its Origin too.
        forged = await admin.client.post(
            path, data={**data, "csrf_token": admin.csrf}, headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == 403 and "another site" in forged.text, path
    async with db.acquire() as conn:
        assert (await driver_queries.get_driver(conn, driver_id)).deactivated_at is None
    assert await count(db, "drivers") == 1 and await count(db, "users") == 2
    assert await db.fetchval("SELECT disabled_at FROM users WHERE id = $1", target.id) is None
    assert [e.action for e in await audit_entries(db)] == ["driver.create"]


# ---------------------------------------------------------------- the audit log


def entry_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-entry="(\d+)"', html)]


async def test_the_audit_page_lists_actions_newest_first_with_paging(admin, db):
    # Actions through the pages, then enough from the command line to need a second page.
    driver_id, _ = await add_driver(admin)
    await admin.post(f"/admin/drivers/{driver_id}", driver_form(name="Ada King"))
    await admin.post("/admin/users", {"email": "dee@example.org", "role": "dispatcher"})
    actor = audit.Actor.command_line()
    async with db.acquire() as conn:
        for n in range(AUDIT_PAGE):
            await audit.record(conn, actor, "fare.set", "fare", None, f"fare {n}", {"base": n})
    await admin.post(f"/admin/drivers/{driver_id}/deactivate")
    total = AUDIT_PAGE + 4

    first = await admin.page("/admin/audit")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    ids = entry_ids(first.text)
    assert len(ids) == AUDIT_PAGE and ids == sorted(ids, reverse=True)
    # The newest first: the deactivation, by the admin, named.
    newest = first.text.split('class="audit-entry"', 2)[1]
    assert newest.startswith(f' data-entry="{ids[0]}"')
    assert "boss@example.org</strong> deactivated driver" in newest and "Ada King" in newest
    older = re.search(r'href="/admin/audit\?before=(\d+)"', first.text)
    assert older is not None and int(older.group(1)) == ids[-1]

    second = await admin.page(f"/admin/audit?before={older.group(1)}")
    rest = entry_ids(second.text)
    assert rest == sorted(rest, reverse=True) and len(rest) == total - AUDIT_PAGE and max(rest) < min(ids)
    assert "?before=" not in second.text and 'href="/admin/audit">Back to the newest' in second.text
    text = text_of(second)
    assert "boss@example.org added account dee@example.org" in text and "role dispatcher" in text
    assert "boss@example.org edited driver Ada King" in text and "name Ada Lovelace → Ada King" in text
    assert "boss@example.org added driver Ada Lovelace" in text and "vehicle class comfort" in text

    # Past the end, and nonsense, are read plainly.
    past = await admin.page(f"/admin/audit?before={min(rest)}")
    assert past.status_code == 200 and entry_ids(past.text) == [] and "No older entries." in past.text
    for nonsense in ("x", "-1", "1e9", "9" * 40, "%00"):
        response = await admin.page(f"/admin/audit?before={nonsense}")
        assert response.status_code == 200 and entry_ids(response.text) == ids, nonsense


async def test_audit_entries_show_names_as_typed_never_as_markup(admin):
    await add_driver(admin, name='<img src=x onerror="alert(1)">', vehicle_plate="")
    page = await admin.page("/admin/audit")
    assert "<img src=x" not in page.text and "&lt;img src=x" in page.text
