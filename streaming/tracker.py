"""The tracker: one shared consumer group that keeps live state and history.

For each fetched batch: history rows go to PostgreSQL in one statement, the newest fix
per driver goes to Redis (position, H3 index) in one pipeline, and only then are the
offsets committed. Both writes are idempotent, so a crash between write and commit
just replays the batch harmlessly (at-least-once delivery, exactly-once effect).

Duty history (hexfleet/analytics/duty.py): the status events and accepted fixes of each
batch become observations (a duty change, a driver gone stale or back, a move to another
resolution-7 cell) written to PostgreSQL with the batch, before Redis and before the offsets
are committed; a redelivered batch recomputes the same rows. Between batches a sweep notes
the drivers of this tracker's own partitions who went silent, once the tracker has read
everything there is (a fix still on its way must not make a driver look stale).

Duty statuses in Redis follow PostgreSQL's (the record): copied at start-up, then checked
again whenever Redis restarted and every DUTY_CHECK_EVERY_S, because a restarted Redis
comes back with an older snapshot (or nothing), and a duty change made while Redis was
away reached only PostgreSQL. Without the check such a driver stayed "busy" in the index
for good, and dispatch never offered it a ride again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime

import asyncpg
import orjson
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.partitioner import murmur2
from redis.exceptions import RedisError

from hexfleet.analytics import duty as duty_history
from hexfleet.analytics import duty_log
from hexfleet.analytics import queries as analytics_queries
from hexfleet.drivers import queries as driver_queries
from hexfleet.geo import cell_of
from hexfleet.keys import TRACKER_STATS
from hexfleet.settings import Settings, SettingsError
from hexfleet.tracking import filters
from hexfleet.tracking import queries as history
from hexfleet.tracking.pings import Ping
from hexfleet.tracking.store import LiveStore
from streaming.events import AttributesEvent, BadEvent, PingsEvent, StatusEvent, decode, key_for
from streaming.kafka import ensure_topic, make_consumer

log = logging.getLogger("hexfleet.tracker")
SWEEP_EVERY_S = 2.0
RETRY_PAUSE_S = 1.0
DUTY_CHECK_EVERY_S = 30.0
HISTORY_SWEEP_EVERY_S = 5.0
# A driver counts as silent this long after STALE_AFTER_S: a fix acknowledged by the broker
# (the ingest waits at most 2 s for that) is read by then.
HISTORY_SWEEP_MARGIN_S = 10.0


def partition_of(driver_id: int, partitions: int) -> int:
    """The partition a driver's records go to (aiokafka's default partitioner, by key)."""
    return (murmur2(key_for(driver_id)) & 0x7FFFFFFF) % partitions


class _Assignments(ConsumerRebalanceListener):
    def __init__(self, assigned: asyncio.Event) -> None:
        self.assigned = assigned

    async def on_partitions_revoked(self, revoked) -> None:
        pass

    async def on_partitions_assigned(self, assigned) -> None:
        log.info("tracker assigned %d partitions", len(assigned))
        self.assigned.set()


class Tracker:
    def __init__(self, settings: Settings, pool, redis) -> None:
        self.settings = settings
        self.pool = pool
        self.redis = redis
        self.store = LiveStore(redis, settings.h3_resolution)
        self.consumer = make_consumer(
            settings,
            group_id=settings.tracker_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=settings.history_batch_size,
            # History and the nearby index tolerate 100 ms; polling every 5 ms (the live
            # streams' setting) cost Tansu about half a core at 25 pings/s in a 45-minute run.
            fetch_max_wait_ms=max(settings.kafka_fetch_max_wait_ms, 100),
        )
        self.stats: dict[str, float] = {
            "batches": 0,
            "records": 0,
            "history_rows": 0,
            "bad_events": 0,
            "last_batch": 0,
            "max_batch": 0,
            "lag": 0,
            "swept": 0,
        }
        self._stopping = asyncio.Event()
        # Live-state writes that Redis refused: retried before the next batch's (newest per driver).
        self._unapplied_fixes: dict[int, tuple[int, Ping, float]] = {}
        self._unapplied_duty: dict[int, str] = {}
        self.redis_down_since: float | None = None
        self.rules = settings.filter_rules()
        self.flagged: Counter[str] = Counter()  # fixes kept out of the live view, by reason
        # Set once the group has given this tracker its partitions (readiness for tests and logs).
        self.assigned = asyncio.Event()
        self.duty_check_every_s = DUTY_CHECK_EVERY_S
        self._duty_checked_at = 0.0
        self.redis_run_id: str | None = None  # changes when Redis restarts
        self.duty_repairs = 0
        self.history_sweep_every_s = HISTORY_SWEEP_EVERY_S
        self.history_sweep_margin_s = HISTORY_SWEEP_MARGIN_S
        self._history_swept_at = 0.0
        self._seen: dict[int, duty_history.LastSeen] = {}  # last accepted fixes this tracker read

    async def run(self) -> None:
        try:
            await self._until_ready("create the topic", lambda: ensure_topic(self.settings))
            await self._until_ready("sync duty statuses to Redis", self._sync_duty)
        except BaseException:
            await self.consumer.stop()  # never started, but made: leave nothing open behind
            raise
        if self._stopping.is_set():
            return
        self.consumer.subscribe([self.settings.kafka_topic_locations], listener=_Assignments(self.assigned))
        await self.consumer.start()
        log.info("tracker consuming %s as group %s", self.settings.kafka_topic_locations, self.settings.tracker_group)
        sweeper = asyncio.create_task(self._sweep_forever())
        try:
            while not self._stopping.is_set():
                batch = await self.consumer.getmany(timeout_ms=500, max_records=self.settings.history_batch_size)
                if not batch:
                    await self._sweep_history()
                    continue
                try:
                    await self.handle([m.value for msgs in batch.values() for m in msgs])
                    await self.consumer.commit()
                except Exception as error:
                    # PostgreSQL away, or a commit that failed in a rebalance: nothing of the
                    # batch is lost, it is read again from its first offset after a pause.
                    count = sum(len(m) for m in batch.values())
                    if isinstance(error, OSError | asyncpg.PostgresConnectionError | asyncpg.InterfaceError):
                        log.warning("batch of %d records waits for PostgreSQL (%s)", count, type(error).__name__)
                    else:
                        log.exception("batch of %d records failed; retrying it", count)
                    for tp, msgs in batch.items():
                        self.consumer.seek(tp, msgs[0].offset)
                    await asyncio.sleep(RETRY_PAUSE_S)
                    continue
                await self._publish_stats(batch)
                await self._sweep_history()
        finally:
            sweeper.cancel()
            await self.consumer.stop()

    def stop(self) -> None:
        self._stopping.set()

    async def _sync_duty(self) -> None:
        async with self.pool.acquire() as conn:
            statuses = await driver_queries.duty_statuses(conn)
        await self.store.sync_duty(statuses, self._fresh_after())
        self._duty_checked_at = time.monotonic()

    async def _check_duty(self) -> None:
        """Repair Redis's duty statuses where they differ from PostgreSQL's: at once when Redis
        restarted (its run id changed), else every ``duty_check_every_s``.

        A duty change racing the repair can be overwritten with the status read a moment
        before; the next check sets it right.
        """
        run_id = str((await self.redis.info("server")).get("run_id", ""))
        restarted = self.redis_run_id is not None and run_id != self.redis_run_id
        if not restarted and time.monotonic() - self._duty_checked_at < self.duty_check_every_s:
            self.redis_run_id = run_id
            return
        in_redis = await self.store.duty()
        async with self.pool.acquire() as conn:
            statuses = await driver_queries.duty_statuses(conn)
        # A driver Redis does not know counts as available there (the index scripts' default).
        wrong = {d: s for d, s in statuses.items() if in_redis.get(d, "available") != s}
        if wrong:
            await self.store.sync_duty(wrong, self._fresh_after())
            self.duty_repairs += len(wrong)
            log.warning(
                "duty of %d drivers in Redis differed from PostgreSQL%s; repaired",
                len(wrong),
                " (Redis restarted)" if restarted else "",
            )
        # Only now: if PostgreSQL was away, the next sweep sees the restart again and retries.
        self.redis_run_id = run_id
        self._duty_checked_at = time.monotonic()

    async def _until_ready(self, what: str, step) -> None:
        """Start-up steps wait for PostgreSQL, Redis or Kafka instead of exiting."""
        pause = RETRY_PAUSE_S
        while not self._stopping.is_set():
            try:
                await step()
                return
            except SettingsError:
                raise  # configured so it cannot work (a replication factor the cluster cannot hold): stop
            except Exception as error:
                log.warning("cannot %s yet (%s); retrying in %g s", what, type(error).__name__, pause)
                try:
                    await asyncio.wait_for(self._stopping.wait(), pause)
                except TimeoutError:
                    pass
                pause = min(pause * 2, 15.0)

    def _fresh_after(self) -> float:
        return time.time() - self.settings.stale_after_s

    async def handle(self, values: list[bytes]) -> None:
        rows: list[tuple[int, Ping, float]] = []
        statuses: list[StatusEvent] = []
        device_events: list[tuple[int, float, float, dict]] = []
        in_order: list[PingsEvent | StatusEvent] = []  # for duty history, which needs their order
        for value in values:
            try:
                event = decode(value)
            except BadEvent as error:
                # A poison record must not stop the tracker forever: count it, skip it.
                self.stats["bad_events"] += 1
                log.warning("skipping %s", error)
                continue
            if isinstance(event, PingsEvent):
                rows.extend((event.driver_id, p, event.received_at) for p in event.pings)
                in_order.append(event)
            elif isinstance(event, AttributesEvent):
                device_events.append((event.driver_id, event.ts, event.received_at, event.attributes))
            else:
                statuses.append(event)
                in_order.append(event)
        last_seen, complete = await self._last_seen(sorted({e.driver_id for e in in_order}))
        newest: list[tuple[int, Ping, float]] = []
        judged: list[tuple[int, Ping, float, str | None]] = []
        if rows or device_events:
            async with self.pool.acquire() as conn:
                # A driver deleted after its pings were accepted has nowhere to keep history.
                ids = sorted({r[0] for r in rows} | {e[0] for e in device_events})
                known = await history.existing_driver_ids(conn, ids)
                rows = [r for r in rows if r[0] in known]
                judged, newest = await self._judge(conn, rows)
                self.stats["history_rows"] += await self._write(conn, history.insert_positions, judged)
                await self._write(conn, history.insert_device_events, [e for e in device_events if e[0] in known])
        observations = self._observe(in_order, judged, last_seen, complete)
        if observations:
            async with self.pool.acquire() as conn:
                await duty_log.record(conn, observations, datetime.now(UTC))
        for driver_id, ping, received_at in newest:
            self._unapplied_fixes[driver_id] = (driver_id, ping, received_at)
        for status in statuses:
            self._unapplied_duty[status.driver_id] = status.status
        await self._apply_live()
        self.stats["batches"] += 1
        self.stats["records"] += len(values)
        self.stats["last_batch"] = len(values)
        self.stats["max_batch"] = max(self.stats["max_batch"], len(values))

    async def _write(self, conn, insert, rows: list) -> int:
        """Insert a batch; if PostgreSQL refuses a value, insert row by row and skip the bad ones.

        Ingest validates every field, so this is the last line: one bad row must never
        stop history for the whole fleet (a batch that always fails would be re-read forever).
        """
        try:
            return await insert(conn, rows)
        except (asyncpg.DataError, ValueError, OverflowError) as error:
            log.warning("batch insert refused (%s); inserting %d rows one by one", error, len(rows))
        written = 0
        for row in rows:
            try:
                written += await insert(conn, [row])
            except (asyncpg.DataError, ValueError, OverflowError) as error:
                self.stats["bad_events"] += 1
                log.warning("skipping a row PostgreSQL refuses: %s", error)
        return written

    async def _apply_live(self) -> None:
        """Redis (latest fixes, duty, the index) after PostgreSQL. While Redis is away, history
        goes on and these wait: newer fixes replace older ones, and they are written once it is back."""
        if not self._unapplied_fixes and not self._unapplied_duty:
            return
        try:
            if self._unapplied_fixes:
                await self.store.apply_fixes(list(self._unapplied_fixes.values()))
                self._unapplied_fixes.clear()
            while self._unapplied_duty:
                driver_id, status = next(iter(self._unapplied_duty.items()))
                await self.store.set_duty(driver_id, status, self._fresh_after())
                del self._unapplied_duty[driver_id]
        except RedisError as error:
            if self.redis_down_since is None:
                self.redis_down_since = time.time()
                log.warning("Redis unavailable (%s): writing history only until it is back", type(error).__name__)
            return
        if self.redis_down_since is not None:
            log.warning("Redis is back after %.1f s: live positions updated", time.time() - self.redis_down_since)
            self.redis_down_since = None

    async def _last_seen(self, driver_ids: list[int]) -> tuple[dict[int, duty_history.LastSeen], bool]:
        """Each driver's last accepted fix (server time, resolution-7 cell) before this batch,
        from Redis, or a newer one still waiting for Redis; and whether that is all there is to
        know. While Redis is away, what this tracker saw itself stands in (False: drivers it has
        not seen are unknown, not new)."""
        seen: dict[int, duty_history.LastSeen] = {}
        if not driver_ids:
            return seen, True
        complete = True
        try:
            for driver_id, (received_at, lat, lng) in (await self.store.last_seen(driver_ids)).items():
                seen[driver_id] = duty_history.LastSeen(received_at, cell_of(lat, lng, analytics_queries.RESOLUTION))
        except RedisError:
            complete = False
            seen = {d: self._seen[d] for d in driver_ids if d in self._seen}
        for driver_id, (_, ping, received_at) in self._unapplied_fixes.items():
            if driver_id in seen and received_at <= seen[driver_id].received_at:
                continue
            if driver_id in driver_ids:
                seen[driver_id] = duty_history.LastSeen(
                    received_at, cell_of(ping.lat, ping.lng, analytics_queries.RESOLUTION)
                )
        return seen, complete

    def _observe(self, in_order, judged, last_seen: dict[int, duty_history.LastSeen], complete: bool) -> list:
        """Duty-history observations of a batch: its status events and accepted fixes, per driver
        in the order read. Without Redis, the fixes of drivers whose last fix is unknown are
        left out: each would otherwise look like a first sighting."""
        accepted = {id(ping) for _, ping, _, flag in judged if flag is None}
        records: dict[int, list[tuple[str, float, object]]] = defaultdict(list)
        for event in in_order:
            if isinstance(event, StatusEvent):
                records[event.driver_id].append(("duty", event.at, event.status))
                continue
            known = complete or event.driver_id in last_seen
            for ping in event.pings:
                if id(ping) in accepted:
                    cell = cell_of(ping.lat, ping.lng, analytics_queries.RESOLUTION)
                    self._seen[event.driver_id] = duty_history.LastSeen(event.received_at, cell)
                    if known:
                        records[event.driver_id].append(("fix", event.received_at, cell))
        out = []
        for driver_id, items in records.items():
            out += duty_history.from_records(driver_id, last_seen.get(driver_id), items, self.settings.stale_after_s)
        return out

    def _owned_partitions(self) -> tuple[set[int], int]:
        """(partitions of the locations topic this tracker reads, how many the topic has)."""
        topic = self.settings.kafka_topic_locations
        every = self.consumer.partitions_for_topic(topic) or set()
        return {tp.partition for tp in self.consumer.assignment() if tp.topic == topic}, len(every)

    async def _caught_up(self) -> bool:
        """Whether everything in this tracker's partitions has been read (as of the last fetch)."""
        assigned = self.consumer.assignment()
        if not assigned:
            return False
        for tp in assigned:
            high = self.consumer.highwater(tp)
            if high is None or await self.consumer.position(tp) < high:
                return False
        return True

    async def _sweep_history(self) -> None:
        """Drivers of this tracker's partitions who went silent (a stale row), or came back
        without a fix path noticing (a row that says offline while Redis has a fresh fix)."""
        if time.monotonic() - self._history_swept_at < self.history_sweep_every_s:
            return
        self._history_swept_at = time.monotonic()
        try:
            owned, count = self._owned_partitions()
            if not owned or not count or not await self._caught_up():
                return
            async with self.pool.acquire() as conn:
                current = await analytics_queries.open_duty_rows(conn)
            mine = {d: row for d, row in current.items() if partition_of(d, count) in owned}
            seen, complete = await self._last_seen(sorted(mine))
            if not complete:
                return  # Redis away: whose fix is fresh is not known
            observations = duty_history.from_sweep(
                mine, seen, time.time(), self.settings.stale_after_s, self.history_sweep_margin_s
            )
            if observations:
                async with self.pool.acquire() as conn:
                    await duty_log.record(conn, observations, datetime.now(UTC))
        except (RedisError, OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
            pass  # the next sweep tries again; the batches say what is away
        except Exception:
            log.exception("duty history sweep failed")

    async def _last_accepted(self, conn, driver_ids: list[int]) -> dict[int, tuple[float, float, float]]:
        """What new fixes are judged against: Redis's latest fix, or PostgreSQL's while Redis is away."""
        try:
            last = await self.store.last_fixes(driver_ids)
        except RedisError:
            return await history.last_accepted(conn, driver_ids)
        for driver_id, (_, ping, _) in self._unapplied_fixes.items():  # newer than Redis knows
            if driver_id not in last or ping.ts > last[driver_id][2]:
                last[driver_id] = (ping.lat, ping.lng, ping.ts)
        return last

    async def _judge(self, conn, rows: list[tuple[int, Ping, float]]):
        """Judge each driver's fixes against its last accepted one (in arrival order).

        Returns history rows with their flag, and the newest accepted fix per driver.
        """
        by_driver: dict[int, list[tuple[int, Ping, float]]] = defaultdict(list)
        for row in rows:
            by_driver[row[0]].append(row)
        last = await self._last_accepted(conn, sorted(by_driver))
        judged: list[tuple[int, Ping, float, str | None]] = []
        newest: list[tuple[int, Ping, float]] = []
        for driver_id, items in by_driver.items():
            previous = filters.LastFix(*last[driver_id]) if driver_id in last else None
            verdicts, _ = filters.judge_sequence([p for _, p, _ in items], previous, self.rules)
            accepted = None
            problem = None
            for row, verdict in zip(items, verdicts, strict=True):
                if verdict == filters.DUPLICATE:
                    continue  # already stored; the insert would be a no-op anyway
                if verdict == filters.ACCEPTED:
                    accepted = row
                else:
                    problem = verdict
                    self.flagged[verdict] += 1
                judged.append((*row, None if verdict == filters.ACCEPTED else verdict))
            if accepted is not None:
                newest.append(accepted)
            if problem is not None:
                with contextlib.suppress(RedisError):  # a display nicety for the detail pane
                    await self.store.note_problem(driver_id, problem, time.time())
        return judged, newest

    async def _publish_stats(self, batch) -> None:
        lag = 0
        for tp in batch:
            high = self.consumer.highwater(TopicPartition(tp.topic, tp.partition))
            if high is not None:
                lag += max(0, high - await self.consumer.position(tp))
        self.stats["lag"] = lag
        self.stats["updated_at"] = time.time()
        self.stats.update({f"flagged_{reason}": count for reason, count in self.flagged.items()})
        with contextlib.suppress(RedisError):
            await self.redis.set(TRACKER_STATS, orjson.dumps(self.stats), ex=300)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            try:
                await self._apply_live()  # Redis back between batches: catch up now
                swept = await self.store.sweep_stale(self._fresh_after())
                self.stats["swept"] += swept
                await self._check_duty()
            except RedisError:
                pass  # logged once by _apply_live; the sweep resumes with Redis
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
                pass  # PostgreSQL away: the batches say so; the duty check runs again next time
            except Exception:
                log.exception("stale sweep failed")
