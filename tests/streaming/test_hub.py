import asyncio

from streaming.hub import Filter, LiveHub, make_event


def pos(driver_id: int, lat: float = 52.5, lng: float = 13.4, seq: int = 0):
    return make_event("position", driver_id, f'{{"driver_id":{driver_id},"seq":{seq}}}'.encode(), lat, lng)


async def test_unfiltered_subscriber_gets_latest_per_driver_in_order():
    hub = LiveHub()
    sub = hub.subscribe(Filter())
    hub.publish([pos(1, seq=1), pos(2, seq=1)])
    hub.publish([pos(1, seq=2)])  # not yet drained: coalesces onto driver 1's slot
    batch = await sub.next_batch()
    assert [e.data for e in batch] == [b'{"driver_id":1,"seq":2}', b'{"driver_id":2,"seq":1}']
    assert batch[0].sse.startswith(b"event: position\ndata: ")


async def test_filters_by_driver_and_bbox():
    hub = LiveHub()
    follow = hub.subscribe(Filter(driver_id=2))
    box = hub.subscribe(Filter(bbox=(13.0, 52.0, 14.0, 53.0)))
    hub.publish([pos(1, 52.5, 13.4), pos(2, 40.0, -3.7), make_event("status", 2, b"{}")])
    assert [e.driver_id for e in await follow.next_batch()] == [2, 2]
    assert [(e.driver_id, e.kind) for e in await box.next_batch()] == [(1, "position"), (2, "status")]


async def test_slow_subscriber_is_dropped_without_affecting_others():
    hub = LiveHub(max_pending=3)
    slow, fast = hub.subscribe(Filter()), hub.subscribe(Filter())
    for driver in range(1, 6):
        hub.publish([pos(driver)])
        assert [e.driver_id for e in await fast.next_batch()] == [driver]
    assert slow.dropped and await slow.next_batch() == []
    assert hub.dropped == 1 and not fast.dropped


async def test_stuck_subscriber_is_dropped_after_send_timeout():
    hub = LiveHub(send_timeout_s=0.05)
    stuck, idle_then_active = hub.subscribe(Filter()), hub.subscribe(Filter(driver_id=9))
    hub.publish([pos(1)])
    await asyncio.sleep(0.1)
    hub.publish([pos(1, seq=2)])
    assert stuck.dropped
    # A subscriber that was merely idle (nothing to deliver) is not "stuck".
    hub.publish([pos(9)])
    assert not idle_then_active.dropped


async def test_unsubscribe_removes_every_kind():
    hub = LiveHub()
    subs = [hub.subscribe(Filter()), hub.subscribe(Filter(driver_id=1)), hub.subscribe(Filter(bbox=(0, 0, 1, 1)))]
    assert len(hub) == 3
    for sub in subs:
        hub.unsubscribe(sub)
    assert len(hub) == 0
