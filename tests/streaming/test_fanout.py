"""What a web process streams: the newest acceptable fix of each record, judged like the tracker."""

import time

import orjson
import pytest

from hexfleet.tracking.pings import Ping
from hexfleet.tracking.store import LiveStore
from streaming.events import encode_pings, encode_status
from streaming.fanout import FanOut
from streaming.hub import LiveHub

NOW = time.time()


@pytest.fixture
async def fanout(settings, redis):
    fan = FanOut(settings, LiveHub(), LiveStore(redis))
    yield fan
    await fan.consumer.stop()


def shown(events) -> list[tuple[str, int, float | None]]:
    return [(e.kind, e.driver_id, orjson.loads(e.data).get("lat")) for e in events]


async def test_streams_the_newest_fix_of_a_batch_and_status_changes(fanout):
    batch = [Ping(52.5, 13.4, NOW - 20), Ping(52.501, 13.4, NOW - 10), Ping(52.5005, 13.4, NOW - 15)]
    events = await fanout.events([encode_pings(1, NOW, batch), encode_status(1, "busy", NOW), b"garbage"])
    assert shown(events) == [("position", 1, 52.501), ("status", 1, None)]
    later = await fanout.events([encode_pings(1, NOW, [Ping(52.502, 13.4, NOW - 5)])])
    assert orjson.loads(later[0].data)["status"] == "busy"


async def test_refused_newest_fix_falls_back_to_the_newest_acceptable_one(fanout):
    await fanout.events([encode_pings(2, NOW, [Ping(52.5, 13.4, NOW - 60)])])
    batch = [Ping(52.501, 13.4, NOW - 30), Ping(48.1, 11.5, NOW - 20)]  # then a jump to Munich
    assert shown(await fanout.events([encode_pings(2, NOW, batch)])) == [("position", 2, 52.501)]
    late = [Ping(52.4, 13.4, NOW - 50)]  # older than what the map shows
    assert await fanout.events([encode_pings(2, NOW, late)]) == []


async def test_first_fix_is_judged_against_the_trackers_last(fanout):
    await fanout.store.apply_fixes([(3, Ping(52.5, 13.4, NOW - 10), NOW - 10)])
    jump = [Ping(40.4, -3.7, NOW - 5)]  # Madrid five seconds after Berlin
    assert await fanout.events([encode_pings(3, NOW, jump)]) == []
    fine = [Ping(52.5001, 13.4, NOW - 1)]
    assert shown(await fanout.events([encode_pings(3, NOW, fine)])) == [("position", 3, 52.5001)]
