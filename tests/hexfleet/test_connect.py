"""Connection instructions for phone apps: pure and table-driven, then as the CLI prints them."""

import asyncio
import base64
import json
import os
import subprocess
import sys
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
import pytest
from helpers import make_driver

from hexfleet.drivers import connect, queries, revocation
from hexfleet.settings import Settings

DEVICE = "3fa0c1d2e3f4a5b6c7d8"
TOKEN = "hfd_Ab+/cd-_ef=="  # includes every character base64 and URLs disagree on


def decode_config_link(link: str) -> dict:
    assert link.startswith(connect.OWNTRACKS_CONFIG_PREFIX)
    encoded = link.removeprefix(connect.OWNTRACKS_CONFIG_PREFIX)
    # What the apps do: percent-decode the query value, then standard base64 with padding
    # (iOS' NSData initWithBase64EncodedString rejects the URL-safe alphabet).
    assert all(ch.isalnum() or ch in "%" for ch in encoded), "a raw + / = in the query breaks Android's parser"
    return json.loads(base64.b64decode(unquote(encoded), validate=True))


@pytest.mark.parametrize(
    ("env", "traccar_url", "owntracks_url"),
    [
        ({}, "http://127.0.0.1:8000/osmand", "http://127.0.0.1:8000/owntracks"),
        ({"OSMAND_PORT": "5055"}, "http://127.0.0.1:5055", "http://127.0.0.1:8000/owntracks"),
        ({"HOST": "0.0.0.0", "PORT": "9000"}, "http://0.0.0.0:9000/osmand", "http://0.0.0.0:9000/owntracks"),
        (
            {"PUBLIC_URL": "https://fleet.example.com"},
            "https://fleet.example.com/osmand",
            "https://fleet.example.com/owntracks",
        ),
        (
            {"PUBLIC_URL": "https://fleet.example.com/"},
            "https://fleet.example.com/osmand",
            "https://fleet.example.com/owntracks",
        ),
        (
            {"PUBLIC_URL": "https://fleet.example.com/", "OSMAND_PORT": "5055"},
            "http://fleet.example.com:5055",  # the OsmAnd listener is plain HTTP on its own port
            "https://fleet.example.com/owntracks",
        ),
        (
            {"PUBLIC_URL": "https://example.com:8443/hexfleet/", "OSMAND_PORT": "5055"},
            "http://example.com:5055",
            "https://example.com:8443/hexfleet/owntracks",
        ),
        (
            {"PUBLIC_URL": "http://example.com/hexfleet"},
            "http://example.com/hexfleet/osmand",
            "http://example.com/hexfleet/owntracks",
        ),
        ({"PUBLIC_URL": "http://[2001:db8::1]:8000", "OSMAND_PORT": "5055"}, "http://[2001:db8::1]:5055", None),
    ],
)
def test_urls_follow_the_settings(env, traccar_url, owntracks_url):
    settings = Settings.from_env(env)
    info = connect.instructions(settings.base_url(), settings.osmand_port, DEVICE)
    assert info.traccar.server_url == traccar_url
    if owntracks_url:
        assert info.owntracks.url == owntracks_url
    assert info.traccar.device_id == info.owntracks.username == info.owntracks.device_id == DEVICE


def test_base_url_with_a_trailing_slash_is_the_same():
    assert connect.instructions("https://a.example/", 0, DEVICE) == connect.instructions("https://a.example", 0, DEVICE)


@pytest.mark.parametrize(
    ("base_url", "local_only"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://0.0.0.0:8000", True),
        ("http://[::1]:8000", True),
        ("http://app.localhost", True),
        ("http://192.168.1.20:8000", False),
        ("https://fleet.example.com", False),
    ],
)
def test_addresses_no_phone_can_reach_are_flagged(base_url, local_only):
    assert connect.instructions(base_url, 0, DEVICE).local_only is local_only


@pytest.mark.parametrize(
    ("osmand_port", "payload"),
    [
        (0, f"https://fleet.example.com/osmand?id={DEVICE}&accuracy=high&interval=10"),
        (5055, f"http://fleet.example.com:5055?id={DEVICE}&accuracy=high&interval=10"),
    ],
)
def test_traccar_qr_is_the_url_traccar_client_scans(osmand_port, payload):
    info = connect.instructions("https://fleet.example.com", osmand_port, DEVICE)
    assert info.traccar.qr_payload == payload
    # Traccar Client takes origin + path as the server URL and the query as settings.
    parts = urlsplit(payload)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == info.traccar.server_url
    assert parse_qs(parts.query) == {"id": [DEVICE], "accuracy": ["high"], "interval": ["10"]}
    assert info.traccar.accuracy == "high" and 5 <= info.traccar.interval_s <= 10


def test_owntracks_config_link_decodes_to_the_http_mode_settings():
    info = connect.instructions("https://fleet.example.com/", 5055, DEVICE, TOKEN, "Ada Lovelace")
    assert info.owntracks.password == TOKEN
    assert decode_config_link(info.owntracks.config_link) == {
        "_type": "configuration",
        "mode": 3,
        "url": "https://fleet.example.com/owntracks",
        "auth": True,
        "username": DEVICE,
        "password": TOKEN,
        "deviceId": DEVICE,
        "tid": "AL",
    }


def test_without_the_token_there_is_no_password_and_no_config_link():
    info = connect.instructions("https://fleet.example.com", 0, DEVICE, None, "Ada Lovelace")
    assert info.owntracks.password is None and info.owntracks.config_link is None
    text = connect.as_text(info)
    assert "password:           the device token, shown only when it is created or rotated" in text
    assert "config link" not in text


def test_later_there_is_no_device_id_and_nothing_that_carries_it():
    """After creation or rotation the id is stored hashed: its last 4 characters stand in."""
    info = connect.instructions("https://fleet.example.com", 5055, name="Ada Lovelace", hint=DEVICE[-4:])
    assert not info.fresh and info.device_id is None and info.device_hint == "c7d8"
    assert info.traccar.device_id is None and info.traccar.qr_payload is None
    assert info.owntracks.username is None and info.owntracks.device_id is None
    assert info.owntracks.password is None and info.owntracks.config_link is None
    assert info.traccar.server_url == "http://fleet.example.com:5055"  # the settings are all still there
    assert info.owntracks.url == "https://fleet.example.com/owntracks" and info.owntracks.tracker_id == "AL"
    text = connect.as_text(info, rotate_hint="`hexfleet drivers rotate 7` issues new ones.")
    assert "device identifier:  •••• c7d8 (shown once, when the device was created or last rotated)" in text
    assert "they cannot be shown again" in text and "`hexfleet drivers rotate 7` issues new ones." in text
    assert "QR" not in text and "config link" not in text
    # Fresh, the same call with the id says none of that.
    fresh = connect.as_text(connect.instructions("https://fleet.example.com", 5055, DEVICE, TOKEN, "Ada Lovelace"))
    assert "cannot be shown again" not in fresh and f"device identifier:  {DEVICE}" in fresh
    assert connect.instructions("https://a.example", 0, DEVICE).device_hint == DEVICE[-4:]


@pytest.mark.parametrize(
    ("name", "tid"),
    [
        ("Ada Lovelace", "AL"),
        ("Grace Brewster Murray Hopper", "GH"),
        ("cher", "CH"),
        ("Özil Ünal", "OU"),
        ("李 小龍", "D8"),  # nothing ASCII to use: fall back to the device id's end
        ("", "D8"),
        (None, "D8"),
        ("  O'Brien  ", "OB"),
    ],
)
def test_tracker_id_is_two_ascii_letters_or_digits(name, tid):
    assert connect.tracker_id(name, DEVICE) == tid
    # Later only the id's last 4 characters are known: the tracker id stays the same.
    assert connect.tracker_id(name, DEVICE[-4:]) == tid
    assert connect.tracker_id(name, None) == (tid if tid != "D8" else "HF")


def test_text_has_every_field_an_app_asks_for():
    info = connect.instructions("http://192.168.1.20:8000", 5055, DEVICE, TOKEN, "Ada Lovelace")
    text = connect.as_text(info)
    for expected in (
        "http://192.168.1.20:5055",
        f"device identifier:  {DEVICE}",
        "location accuracy:  high",
        "http://192.168.1.20:8000/owntracks",
        f"user:               {DEVICE}",
        f"password:           {TOKEN}",
        "owntracks:///config?inline=",
    ):
        assert expected in text
    assert "only works on this computer" not in text
    assert "only works on this computer" in connect.as_text(connect.instructions("http://127.0.0.1:8000", 0, DEVICE))


def test_json_form_is_plain_data():
    info = connect.instructions("https://fleet.example.com", 0, DEVICE, TOKEN, "Ada Lovelace")
    data = json.loads(json.dumps(info.to_json()))
    assert data["traccar"]["server_url"] == "https://fleet.example.com/osmand"
    assert data["owntracks"]["password"] == TOKEN


def _svg_sizes(svg: str) -> tuple[int, int]:
    """(width in px, modules across) of a qr_svg."""
    head = svg.split(">", 1)[0]
    width = int(head.split('width="', 1)[1].split('"', 1)[0])
    modules = int(head.split('viewBox="0 0 ', 1)[1].split(" ", 1)[0])
    return width, modules


def test_qr_svg_is_an_inline_svg_that_depends_on_the_payload():
    a = connect.qr_svg("http://a.example:5055?id=1", title="QR code for Traccar Client")
    b = connect.qr_svg("http://b.example:5055?id=2")
    assert a.startswith("<svg") and a.rstrip().endswith("</svg>")
    assert "<title>QR code for Traccar Client</title>" in a
    assert "xmlns" not in a and "<?xml" not in a  # inline in HTML5
    assert a != b
    assert connect.qr_svg("http://a.example:5055?id=1") == connect.qr_svg("http://a.example:5055?id=1")


@pytest.mark.parametrize("token", [None, "hfd_" + "x" * 43])
def test_qr_modules_are_whole_pixels_near_the_target_size(token):
    info = connect.instructions("https://fleet-dispatch.example.com", 0, DEVICE, token, "Ada Lovelace")
    for payload in filter(None, (info.traccar.qr_payload, info.owntracks.config_link)):
        width, modules = _svg_sizes(connect.qr_svg(payload))
        assert width % modules == 0 and width // modules >= 2
        assert 100 <= width <= 200


def test_terminal_qr_is_text_blocks():
    out = connect.qr_terminal("http://a.example:5055?id=1")
    lines = out.splitlines()
    assert len(lines) > 10 and len({len(line) for line in lines}) == 1
    assert set(out) <= {" ", "\n", "█", "▀", "▄"}


# ---------------------------------------------------------------- the CLI prints the same instructions


def hexfleet_cli(database_url: str, *args: str, redis_url: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env.update(DATABASE_URL=database_url, PUBLIC_URL="https://fleet.example.com", OSMAND_PORT="5055")
    if redis_url:
        env["REDIS_URL"] = redis_url
    return subprocess.run(
        [sys.executable, "-m", "hexfleet.cli.main", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_cli_show_prints_the_driver_and_how_to_connect(db, database_url):
    drv, device = await make_driver(db, "Ada Lovelace", "B-AL-1")
    result = hexfleet_cli(database_url, "drivers", "show", str(drv.id), "--json")
    assert result.returncode == 0, result.stderr
    out = orjson.loads(result.stdout)
    # The device id was shown once, when the device was issued: stored hashed, shown by its end only.
    assert (out["id"], out["name"], out["vehicle_plate"], out["device_id"], out["device_hint"]) == (
        drv.id,
        "Ada Lovelace",
        "B-AL-1",
        None,
        device.device_id[-4:],
    )
    assert device.device_id not in result.stdout
    assert out["connect"]["traccar"]["server_url"] == "http://fleet.example.com:5055"
    assert out["connect"]["traccar"]["qr_payload"] is None  # it would carry the id
    assert out["connect"]["owntracks"]["url"] == "https://fleet.example.com/owntracks"
    assert out["connect"]["owntracks"]["password"] is None and "token" not in out

    human = hexfleet_cli(database_url, "drivers", "show", str(drv.id))
    assert human.returncode == 0, human.stderr
    for expected in (
        f"driver {drv.id}: Ada Lovelace",
        f"device id: •••• {device.device_id[-4:]} (shown once, when the device was created or last rotated, ",
        "Traccar Client (OsmAnd protocol)",
        "server URL:         http://fleet.example.com:5055",
        "they cannot be shown again",
        f"`hexfleet drivers rotate {drv.id}` issues a new device identifier and token, shown once",
    ):
        assert expected in human.stdout
    assert device.device_id not in human.stdout
    assert "█" not in human.stdout  # no terminal QR codes when stdout is not a terminal


def test_cli_show_of_an_unknown_driver_is_a_readable_error(database_url):
    result = hexfleet_cli(database_url, "drivers", "show", "99999")
    assert result.returncode == 2
    assert "no driver with id 99999" in result.stderr and "Traceback" not in result.stderr


async def test_cli_rotate_without_redis_says_when_web_processes_notice(db, database_url):
    drv, old = await make_driver(db, "Grace Hopper")
    result = hexfleet_cli(database_url, "drivers", "rotate", str(drv.id), "--json")
    assert result.returncode == 0, result.stderr
    out = orjson.loads(result.stdout)
    assert out["announced"] is False and "REDIS_URL is not set" in result.stderr
    assert "AUTH_CACHE_TTL_S" in result.stderr
    assert out["device_id"] != old.device_id and out["token"] != old.token
    assert out["device_hint"] == out["device_id"][-4:] and out["connect"]["traccar"]["device_id"] == out["device_id"]
    assert out["connect"]["owntracks"]["password"] == out["token"]
    assert decode_config_link(out["connect"]["owntracks"]["config_link"])["password"] == out["token"]
    async with db.acquire() as conn:
        assert await queries.driver_for_token(conn, old.token) is None
        assert await queries.driver_for_token(conn, out["token"]) == drv.id
        assert await queries.driver_for_device_id(conn, old.device_id) is None
        assert await queries.driver_for_device_id(conn, out["device_id"]) == drv.id


async def test_cli_rotate_announces_over_redis(db, database_url, redis, base_settings):
    drv, _ = await make_driver(db, "Katherine Johnson")
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(revocation.CHANNEL)
        assert (await pubsub.get_message(timeout=1.0))["type"] == "subscribe"
        result = await asyncio.to_thread(
            hexfleet_cli, database_url, "drivers", "rotate", str(drv.id), redis_url=base_settings.redis_url
        )
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2.0)
    assert result.returncode == 0, result.stderr
    assert message is not None and message["data"] == str(drv.id).encode()
    assert "stop working now" in result.stderr
    assert "token (shown once): hfd_" in result.stdout and "password:           hfd_" in result.stdout
    assert "device_id (shown once): " in result.stdout and "cannot be shown again" not in result.stdout


def test_cli_add_prints_how_to_connect_with_the_password(database_url):
    result = hexfleet_cli(database_url, "drivers", "add", "--name", "Hedy Lamarr")
    assert result.returncode == 0, result.stderr
    token = result.stdout.split("token (shown once): ", 1)[1].split()[0]
    assert f"password:           {token}" in result.stdout
    assert "owntracks:///config?inline=" in result.stdout
