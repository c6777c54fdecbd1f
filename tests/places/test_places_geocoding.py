"""The geocoder's reverse lookup: requests and answers (pure tables), and the client against a real
HTTP server on loopback (cache, timeout, failures never reach the caller)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
import pytest

from hexfleet.places import geocoding
from hexfleet.places.geocoding import ReverseGeocoder, parse_reverse, reverse_request_for


@pytest.mark.parametrize(
    ("base", "url", "nominatim"),
    [
        ("https://photon.komoot.io", "https://photon.komoot.io/reverse", False),
        ("https://photon.example/api", "https://photon.example/reverse", False),
        ("https://photon.example/api/", "https://photon.example/reverse", False),
        ("https://nominatim.openstreetmap.org", "https://nominatim.openstreetmap.org/reverse", True),
        ("http://geo.local/search", "http://geo.local/reverse", True),
        ("http://geo.local/reverse", "http://geo.local/reverse", True),
    ],
)
def test_reverse_request_for(base, url, nominatim):
    got_url, params = reverse_request_for(base, 52.5219, 13.4132)
    assert got_url == url
    assert (params["lat"], params["lon"]) == ("52.521900", "13.413200")
    assert (params.get("format") == "jsonv2") is nominatim


PHOTON = {
    "features": [
        {
            "geometry": {"coordinates": [13.4132, 52.5219]},
            "properties": {"street": "Alexanderplatz", "housenumber": "1", "postcode": "10178", "city": "Berlin",
                           "country": "Germany"},
        }
    ]
}  # fmt: skip
NOMINATIM = {
    "display_name": "1, Alexanderplatz, Mitte, Berlin, 10178, Deutschland",
    "name": "",
    "address": {"house_number": "1", "road": "Alexanderplatz", "suburb": "Mitte", "city": "Berlin"},
}


@pytest.mark.parametrize(
    ("body", "label"),
    [
        (PHOTON, "Alexanderplatz 1, Berlin"),
        ({"features": [{"properties": {"name": "Fernsehturm", "street": "Panoramastraße", "housenumber": "1A",
                                       "city": "Berlin"}}]}, "Fernsehturm, Panoramastraße 1A, Berlin"),
        ({"features": []}, None),
        ({"features": [None, {"properties": "x"}, {"properties": {"name": "Kiosk"}}]}, "Kiosk"),
        (NOMINATIM, "Alexanderplatz 1, Berlin"),
        ({"display_name": "Somewhere far, Earth"}, "Somewhere far, Earth"),
        ({"name": "Rotes Rathaus", "address": {"road": "Rathausstraße", "city": "Berlin"}},
         "Rotes Rathaus, Rathausstraße, Berlin"),
        ({"error": "Unable to geocode"}, None),
        ([], None),
        ("text", None),
        ({"display_name": "x" * 500}, "x" * 200),
        ({"display_name": "  a \n b "}, "a b"),
    ],
)  # fmt: skip
def test_parse_reverse(body, label):
    assert parse_reverse(body) == label


@contextlib.asynccontextmanager
async def geocoder_server(answer):
    """A reverse geocoder on loopback. ``answer(path_and_query)`` gives (status, body) or, for a
    hanging server, None. Yields (base url, request targets seen)."""
    seen: list[str] = []

    async def serve(reader, writer):
        with contextlib.suppress(Exception):
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode()
            seen.append(target)
            reply = answer(target)
            if reply is None:
                await asyncio.sleep(5)  # never answers in time
            else:
                status, body = reply
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    f"Connection: close\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_lookups_are_cached_per_eleven_metres():
    async with geocoder_server(lambda _t: (200, orjson.dumps(PHOTON))) as (url, seen):
        clock = Clock()
        reverse = ReverseGeocoder(url, "hexfleet-test", clock=clock)
        try:
            assert await reverse.lookup(52.52190, 13.41320) == "Alexanderplatz 1, Berlin"
            assert seen == ["/reverse?lat=52.521900&lon=13.413200&limit=1"]
            # 3 m away: the same rounded position, no second request.
            assert await reverse.lookup(52.52192, 13.41321) == "Alexanderplatz 1, Berlin"
            assert len(seen) == 1
            clock.now += geocoding.FOUND_TTL_S + 1  # a day later it asks again
            assert await reverse.lookup(52.52190, 13.41320) == "Alexanderplatz 1, Berlin"
            assert len(seen) == 2
        finally:
            await reverse.close()


async def test_nothing_there_is_remembered_for_a_while():
    async with geocoder_server(lambda _t: (200, b'{"features": []}')) as (url, seen):
        clock = Clock()
        reverse = ReverseGeocoder(url, "hexfleet-test", clock=clock)
        try:
            assert await reverse.lookup(0.5, 0.5) is None
            assert await reverse.lookup(0.5, 0.5) is None
            assert len(seen) == 1
            clock.now += geocoding.NOTHING_TTL_S + 1
            assert await reverse.lookup(0.5, 0.5) is None
            assert len(seen) == 2
        finally:
            await reverse.close()


@pytest.mark.parametrize("reply", [None, (500, b'{"message": "boom"}'), (200, b"<html>not json"), (404, b"")], ids=str)
async def test_a_failing_geocoder_gives_no_label_quickly_and_is_rested(reply):
    async with geocoder_server(lambda _t: reply) as (url, seen):
        clock = Clock()
        reverse = ReverseGeocoder(url, "hexfleet-test", timeout_s=0.2, clock=clock)
        try:
            started = time.monotonic()
            assert await reverse.lookup(52.5, 13.4) is None
            assert time.monotonic() - started < 1.5  # the timeout, not the server's 5 s
            # Resting: the next lookups within BACKOFF_S do not ask (nor wait) at all.
            assert await reverse.lookup(52.6, 13.5) is None
            assert len(seen) == 1
            clock.now += geocoding.BACKOFF_S + 1
            await reverse.lookup(52.6, 13.5)
            assert len(seen) == 2
        finally:
            await reverse.close()


async def test_an_unreachable_geocoder_gives_no_label():
    reverse = ReverseGeocoder("http://127.0.0.1:9", "hexfleet-test", timeout_s=0.2)
    try:
        assert await reverse.lookup(52.5, 13.4) is None
    finally:
        await reverse.close()


@pytest.mark.parametrize("where", [(float("nan"), 1.0), (95.0, 1.0), ("x", 1.0)])
async def test_impossible_positions_are_never_asked(where):
    async with geocoder_server(lambda _t: (200, orjson.dumps(PHOTON))) as (url, seen):
        reverse = ReverseGeocoder(url, "hexfleet-test")
        try:
            assert await reverse.lookup(*where) is None
            assert seen == []
        finally:
            await reverse.close()
