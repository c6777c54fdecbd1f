"""Connecting a phone from the control room, and rotating a device token, through the real app."""

import asyncio
import re
import time

import pytest
from helpers import browser_login, make_driver, make_user, stored_devices, wait_for

from hexfleet.drivers import revocation

PINGS = "/api/v1/driver/pings"
HX = {"HX-Request": "true"}
DEVICE_ID = re.compile(r"data-device-id-once>([^<]+)</code>")


@pytest.fixture
def settings(settings):
    # A cache that outlives every test: an old token can only stop working because the
    # rotation was announced, never because its cache entry happened to expire.
    return settings.with_(auth_cache_ttl_s=600.0)


@pytest.fixture
async def driver(db):
    return await make_driver(db, "Ada Lovelace", "B-AL-1")


async def login(client, db, role: str) -> dict:
    user, _ = await make_user(db, role)
    return {**await browser_login(client, user.email), **HX}


async def ping(client, token: str) -> int:
    body = {"lat": 52.52, "lng": 13.405, "ts": time.time()}
    response = await client.post(PINGS, json=body, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def osmand(client, device_id: str) -> int:
    """What Traccar Client gets for a fix sent with this device id."""
    query = {"id": device_id, "lat": "52.52", "lon": "13.405", "timestamp": str(int(time.time()))}
    return (await client.get("/osmand", params=query)).status_code


async def subscribed(redis) -> bool:
    """The app's revocation listener has subscribed (it starts with the app, asynchronously)."""
    [(_, count)] = await redis.pubsub_numsub(revocation.CHANNEL)
    return count >= 1


# ---------------------------------------------------------------- the detail pane and its connect section


@pytest.mark.parametrize("role", ["dispatcher", "admin"])
async def test_detail_pane_shows_the_device_ids_end_and_a_connect_section_kept_across_refreshes(
    client, db, driver, role
):
    drv, device = driver
    headers = await login(client, db, role)
    response = await client.get(f"/ui/drivers/{drv.id}", headers=headers)
    assert response.status_code == 200
    # The device id is a credential (OsmAnd has no other), stored hashed: the pane tells
    # phones apart by its last 4 characters, kept for that, and says it was shown once.
    assert device.device_id not in response.text
    assert f"•••• {device.device_id[-4:]}" in response.text
    assert "The full id was shown once, when the device was created or last rotated" in response.text
    # The 3 s refresh swaps the card: the connect section survives it (hx-preserve needs a stable id).
    assert f'<details class="connect" id="connect-{drv.id}" hx-preserve="true"' in response.text
    assert f'hx-get="/ui/drivers/{drv.id}/connect" hx-trigger="toggle once"' in response.text
    assert "<svg" not in response.text.split("<details", 1)[1]  # QR codes only once opened


async def test_connect_section_later_has_both_apps_but_not_the_id_token_or_qr_codes(client, db, driver):
    drv, device = driver
    headers = await login(client, db, "admin")
    response = await client.get(f"/ui/drivers/{drv.id}/connect", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.text
    # No PUBLIC_URL: the address this browser used (the test client's http://test).
    assert "http://test/osmand" in html and "http://test/owntracks" in html
    # The id and token were shown once, when the device was issued: stored hashed, even an
    # admin sees only the id's last 4 characters (Traccar identifier, OwnTracks user and
    # device id), and no QR code, since each would carry the id.
    assert device.device_id not in html and device.token not in html
    assert html.count(f"•••• {device.device_id[-4:]}") == 3
    assert "<svg" not in html and "owntracks:///config" not in html
    assert "it was shown once, when the device was" in html and "it cannot be shown again" in html
    assert "shown only when it is created or rotated" in html
    assert "Rotate the device token below to issue a new identifier" in html
    assert "Rotate device token" in html and f'hx-post="/ui/drivers/{drv.id}/rotate"' in html
    assert "hx-confirm=" in html


async def test_dispatchers_see_no_rotate_button(client, db, driver):
    drv, _ = driver
    headers = await login(client, db, "dispatcher")
    response = await client.get(f"/ui/drivers/{drv.id}/connect", headers=headers)
    assert response.status_code == 200
    assert "/rotate" not in response.text and "An admin can rotate" in response.text


async def test_dispatchers_never_get_the_device_id_or_its_qr_code(client, db, driver):
    drv, device = driver
    headers = await login(client, db, "dispatcher")
    html = (await client.get(f"/ui/drivers/{drv.id}/connect", headers=headers)).text
    assert device.device_id not in html and "<svg" not in html
    assert html.count(f"•••• {device.device_id[-4:]}") == 3  # Traccar identifier, OwnTracks user and device id
    assert "it cannot be shown again" in html and "An admin can rotate the device token to issue a new" in html
    assert "Create sign-in link" in html  # the driver web app still works through a one-time link


async def test_public_url_and_osmand_port_win_over_the_request_host(settings, db, redis, driver):
    from webapp import create_app

    drv, _ = driver
    app = create_app(settings.with_(public_url="https://fleet.example.com/", osmand_port=5055))
    async with app.test_app():
        client = app.test_client()
        user, _ = await make_user(db, "dispatcher")
        login_response = await client.post("/login", form={"email": user.email, "password": "correct-horse"})
        assert login_response.status_code == 302
        response = await client.get(f"/ui/drivers/{drv.id}/connect", headers=HX)
        html = await response.get_data(as_text=True)
    assert "http://fleet.example.com:5055" in html
    assert "https://fleet.example.com/owntracks" in html
    assert "Addresses from PUBLIC_URL" in html and "only works on this computer" not in html


async def test_a_driver_without_a_device_says_so(client, db):
    async with db.acquire() as conn:
        from hexfleet.drivers import queries

        drv = await queries.create_driver(conn, "No Phone")
    headers = await login(client, db, "admin")
    response = await client.get(f"/ui/drivers/{drv.id}/connect", headers=headers)
    assert response.status_code == 200
    assert "no device yet" in response.text and "Issue device token" in response.text


# ---------------------------------------------------------------- rotation


async def test_admin_rotation_stops_the_old_token_at_once_and_shows_the_new_one_once(client, db, redis, driver):
    drv, old = driver
    headers = await login(client, db, "admin")
    assert await ping(client, old.token) == 202  # now cached for AUTH_CACHE_TTL_S (600 s here)
    await wait_for(lambda: subscribed(redis))

    response = await client.post(f"/ui/drivers/{drv.id}/rotate", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    html = response.text
    assert "shown only this once" in html and "cannot be shown again" in html
    assert "have stopped working" in html
    new_device_id = DEVICE_ID.search(html).group(1)
    assert new_device_id != old.device_id and html.count(new_device_id) >= 4  # notice, Traccar, OwnTracks ×2
    assert new_device_id not in await stored_devices(db)  # only its hash is kept
    new_token = html.split('<code class="secret" data-token>', 1)[1].split("</code>", 1)[0]
    assert new_token.startswith("hfd_") and new_token != old.token
    assert html.count('<svg width="') == 2  # the OwnTracks QR carries the new password
    assert "owntracks:///config?inline=" in html

    async def old_token_refused():
        return await ping(client, old.token) == 401

    # Far sooner than the 600 s cache: only the announcement explains it.
    await wait_for(old_token_refused, timeout=2.0)
    assert await ping(client, new_token) == 202
    assert await osmand(client, old.device_id) == 404 and await osmand(client, new_device_id) == 200

    # Neither is ever shown again: the pane knows the id's last 4 characters only.
    again = await client.get(f"/ui/drivers/{drv.id}/connect", headers=headers)
    assert new_token not in again.text and new_device_id not in again.text
    assert f"•••• {new_device_id[-4:]}" in again.text


async def test_rotation_is_announced_to_every_process(client, db, redis, driver):
    drv, _ = driver
    headers = await login(client, db, "admin")
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(revocation.CHANNEL)
        assert (await pubsub.get_message(timeout=1.0))["type"] == "subscribe"
        response = await client.post(f"/ui/drivers/{drv.id}/rotate", headers=headers)
        assert response.status_code == 200
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2.0)
    assert message is not None and message["data"] == str(drv.id).encode()


async def test_dispatcher_cannot_rotate(client, db, driver):
    drv, device = driver
    headers = await login(client, db, "dispatcher")
    response = await client.post(f"/ui/drivers/{drv.id}/rotate", headers=headers)
    assert response.status_code == 403
    assert "Only admins can rotate device tokens." in response.text and "Traceback" not in response.text
    assert 'role="alert"' in response.text  # a partial the connect section can show
    assert await ping(client, device.token) == 202 and await osmand(client, device.device_id) == 200
    async with db.acquire() as conn:
        from hexfleet.drivers import queries

        current = await queries.current_device(conn, drv.id)
    assert current is not None and current.row_id == device.row_id


@pytest.mark.parametrize("role", ["customer", None])
async def test_customers_and_strangers_cannot_rotate(client, db, driver, role):
    drv, device = driver
    headers = await login(client, db, role) if role else HX
    response = await client.post(f"/ui/drivers/{drv.id}/rotate", headers=headers)
    assert response.status_code == (403 if role else 302)
    assert await ping(client, device.token) == 202


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/ui/drivers/99999/rotate"), ("GET", "/ui/drivers/99999/connect")]
)
async def test_unknown_driver_is_a_readable_404(client, db, method, path):
    headers = await login(client, db, "admin")
    response = await client.request(method, path, headers=headers)
    assert response.status_code == 404
    assert "no driver with id 99999" in response.text and "Traceback" not in response.text
    # Without htmx: a whole page.
    page = await client.request(method, path, headers={k: v for k, v in headers.items() if k != "HX-Request"})
    assert page.status_code == 404 and "<html" in page.text


async def test_concurrent_rotations_leave_exactly_one_live_device(client, db, driver):
    drv, _ = driver
    headers = await login(client, db, "admin")
    for _ in range(10):
        responses = await asyncio.gather(*(client.post(f"/ui/drivers/{drv.id}/rotate", headers=headers) for _ in "ab"))
        assert [r.status_code for r in responses] == [200, 200]
    live = await db.fetchval("SELECT count(*) FROM devices WHERE driver_id = $1 AND revoked_at IS NULL", drv.id)
    assert live == 1
