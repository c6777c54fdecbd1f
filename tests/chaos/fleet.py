"""The chaos test's stack and load.

``DevStack`` runs the real `hexfleet dev --no-simulator` in a temporary folder (embedded
PostgreSQL, Redis and Tansu; web, stream and worker under the dev supervisor) and knows
how to kill -9 each part and bring back the servers the supervisor does not restart.

``Load`` is the traffic: drivers post pings through the real HTTP ingest the way phones
do (every fix is retried, in order, until it is answered 202) and work their rides
through the driver API; riders ask for prices and book through the rider API, and some
cancel. It records every ping it made and what the platform answered, so the test can
hold the platform to "answered 202 means stored".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from redis.asyncio import Redis

from hexfleet.devtools import embedded
from hexfleet.devtools.testing import free_port, wait_until_ready_async

HEXFLEET = str(Path(sys.executable).parent / "hexfleet")
URL_VARIABLES = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "PORT", "PUBLIC_URL", "SECRET_KEY")
START_TIMEOUT_S = 120.0  # a first start initialises the embedded PostgreSQL
CENTER = (52.52, 13.405)

PING_EVERY_S = 0.5  # each driver's fix rate
RETRY_PINGS_S = 0.3  # a phone's pause before it sends its queue again
MAX_BATCH = 100  # queued fixes go up as one batch, as Traccar and OwnTracks do
POLL_S = 0.5  # a driver app's look at its offers and ride
STEP_S = 0.8  # a driver's time between ride steps (arrive, start, complete)
BOOK_EVERY_S = 1.5
CANCEL_SHARE = 0.1
NEXT_STEP = {"assigned": "arrived", "arrived": "start", "in_progress": "complete"}


def db_time(ts: float) -> datetime:
    """A device time as PostgreSQL stores it (the tracker converts the same way)."""
    return datetime.fromtimestamp(ts, UTC)


class DevStack:
    """`hexfleet dev --no-simulator` in ``folder``, and the means to kill its parts."""

    def __init__(self, folder: Path, **env: str) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "dev.log"
        self.env = {k: v for k, v in os.environ.items() if k not in URL_VARIABLES}
        self.env.update(HEXFLEET_DATA_DIR=str(self.data), PORT=str(self.port), MAP_TILE_URL="", PYTHONUNBUFFERED="1")
        self.env.update(env)
        self.proc: subprocess.Popen | None = None
        self.started_again: list[embedded.Service] = []  # servers this test restarted itself

    # --- the stack as a whole (blocking: call through asyncio.to_thread) ---

    def start(self) -> None:
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [HEXFLEET, "dev", "--no-simulator"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (self.data / "dev-stack.json").exists():  # written once the web app is ready
            if self.proc.poll() is not None:
                raise RuntimeError(f"hexfleet dev exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"hexfleet dev not ready in {START_TIMEOUT_S:g} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop `hexfleet dev` (the app first, then its servers), then the servers we restarted."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        embedded.stop_services(self.started_again)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # --- where things are ---

    def record(self) -> dict:
        return json.loads((self.data / "dev-stack.json").read_text())

    @property
    def database_url(self) -> str:
        return self.record()["env"]["DATABASE_URL"]

    @property
    def redis_url(self) -> str:
        return self.record()["env"]["REDIS_URL"]

    @property
    def kafka(self) -> str:
        return self.record()["env"]["KAFKA_BOOTSTRAP_SERVERS"]

    def pid(self, process: str) -> int | None:
        return self.record()["processes"].get(process)

    async def redis_pid(self) -> int:
        redis = Redis.from_url(self.redis_url)
        try:
            return int((await redis.info("server"))["process_id"])
        finally:
            await redis.aclose()

    def postgres_pid(self) -> int:
        return int((self.data / "postgres" / "postmaster.pid").read_text().split()[0])

    # --- killing and bringing back ---

    async def kill_process(self, process: str, timeout: float = 30.0) -> float:
        """kill -9 one of the Procfile's processes; returns when the supervisor has started a new
        one (for web: once it answers /readyz). Returns the time it was back."""
        old = self.pid(process)
        assert old, f"{process} is not running: {self.record()}"
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while self.pid(process) in (None, old):
            if time.monotonic() > deadline:
                raise AssertionError(f"the supervisor did not restart {process}:\n{self.log_tail()}")
            await asyncio.sleep(0.1)
        if process == "web":
            await wait_until_ready_async(f"{self.url}/readyz", timeout)
        return time.time()

    async def kill_redis(self, timeout: float = 30.0) -> float:
        """kill -9 redis-server, then start it again on its port with its data folder (it loads
        its last snapshot, as a restarted Redis does)."""
        url = self.redis_url
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        os.kill(await self.redis_pid(), signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while embedded.port_open(port):
            if time.monotonic() > deadline:
                raise AssertionError(f"redis still listens on {port} after kill -9")
            await asyncio.sleep(0.05)
        self.started_again.append(await asyncio.to_thread(embedded.start_redis, self.data, port))
        return time.time()

    async def kill_postgres(self, timeout: float = 60.0) -> float:
        """kill -9 the postmaster, then start the server again on its data folder (crash recovery)."""
        os.kill(self.postgres_pid(), signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while True:
            # Its backends exit once they notice the postmaster is gone; until then a new
            # postmaster refuses the data folder. Retry until it starts.
            try:
                service = await asyncio.to_thread(embedded.start_postgres, self.data)
                break
            except embedded.EmbeddedError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        self.started_again.append(service)
        return time.time()


async def query(dsn: str, sql: str, *args):
    """One query on a fresh connection; None while PostgreSQL is away (it is killed on purpose)."""
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return None
    try:
        return await conn.fetch(sql, *args)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return None
    finally:
        with contextlib.suppress(Exception):
            await conn.close(timeout=2)


# ---------------------------------------------------------------- the load


@dataclass(eq=False)
class SentPing:
    driver_id: int
    seq: int
    ts: float
    lat: float
    lng: float
    phase: str  # what was being killed when the phone made this fix
    attempts: int = 0
    acked: bool = False  # answered 202 and not rejected
    rejected: str | None = None
    unsure: bool = False  # an attempt broke off after the request was sent: it may have been produced

    def wire(self) -> dict:
        return {"lat": self.lat, "lng": self.lng, "ts": self.ts, "id": f"{self.driver_id}-{self.seq}"}


@dataclass
class Driver:
    id: int
    token: str
    sleepy: bool = False  # never answers offers: the worker has to expire them


def _near(rng: random.Random, radius_m: float) -> tuple[float, float]:
    r = radius_m * math.sqrt(rng.random())
    angle = rng.random() * 2 * math.pi
    lat = CENTER[0] + r * math.cos(angle) / 111_320
    lng = CENTER[1] + r * math.sin(angle) / (111_320 * math.cos(math.radians(CENTER[0])))
    return round(lat, 6), round(lng, 6)


class Load:
    """Drivers and riders against ``url``, until ``finish()``."""

    def __init__(self, url: str, drivers: list[Driver], customers: list[str], seed: int = 9) -> None:
        self.url = url
        self.drivers = drivers
        self.customers = customers
        self.rng = random.Random(seed)
        self.phase = "warm-up"
        self.pings: list[SentPing] = []
        self.outbox: dict[int, list[SentPing]] = {d.id: [] for d in drivers}
        self.queued = {d.id: asyncio.Event() for d in drivers}
        # (phase, what) → count: answers other than 202 and transport failures, per kind of request.
        self.trouble: Counter[tuple[str, str]] = Counter()
        self.booked: list[tuple[int, str]] = []  # (booking id, phase)
        self.generating = True
        self.booking = True
        self.stopped = asyncio.Event()
        self.client = httpx.AsyncClient(
            base_url=url,
            trust_env=False,
            timeout=httpx.Timeout(5.0, connect=2.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )
        self.tasks: list[asyncio.Task] = []

    def start(self) -> None:
        for d in self.drivers:
            self.tasks += [
                asyncio.create_task(self._fixes(d)),
                asyncio.create_task(self._send(d)),
                asyncio.create_task(self._work(d)),
            ]
        self.tasks.append(asyncio.create_task(self._riders()))

    async def finish(self, drained, timeout: float) -> None:
        """No new bookings; once ``drained()`` holds (rides ended), no new fixes; then wait
        until every fix a phone holds has been answered 202."""
        self.booking = False
        deadline = time.monotonic() + timeout
        while not await drained():
            if time.monotonic() > deadline:
                raise AssertionError(f"rides did not settle within {timeout:g} s")
            await asyncio.sleep(0.5)
        self.generating = False
        for event in self.queued.values():
            event.set()
        while any(self.outbox.values()):
            if time.monotonic() > deadline:
                raise AssertionError(f"phones still hold {sum(map(len, self.outbox.values()))} unanswered fixes")
            await asyncio.sleep(0.1)
        await self.close()

    async def close(self) -> None:
        self.stopped.set()
        self.generating = self.booking = False
        for event in self.queued.values():
            event.set()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()

    def _note(self, what: str, error: Exception | int) -> None:
        kind = f"HTTP {error}" if isinstance(error, int) else type(error).__name__
        self.trouble[(self.phase, f"{what}: {kind}")] += 1

    # --- drivers: fixes ---

    async def _fixes(self, d: Driver) -> None:
        lat, lng = _near(self.rng, 800)
        last_ts, seq = 0.0, 0
        while self.generating:
            # Device times strictly increase per driver, in whole milliseconds (exact in PostgreSQL).
            ts = round(max(time.time(), last_ts + 0.001), 3)
            last_ts, seq = ts, seq + 1
            lat = round(lat + self.rng.uniform(-4e-5, 4e-5), 6)
            lng = round(lng + self.rng.uniform(-6e-5, 6e-5), 6)
            ping = SentPing(d.id, seq, ts, lat, lng, self.phase)
            self.pings.append(ping)
            self.outbox[d.id].append(ping)
            self.queued[d.id].set()
            await asyncio.sleep(PING_EVERY_S)

    async def _send(self, d: Driver) -> None:
        """A phone's upload queue: oldest first, everything retried until it is answered 202."""
        box, queued = self.outbox[d.id], self.queued[d.id]
        headers = {"Authorization": f"Bearer {d.token}"}
        while not self.stopped.is_set():
            if not box:
                if not self.generating:
                    return
                queued.clear()
                await queued.wait()
                continue
            batch = box[:MAX_BATCH]
            body = batch[0].wire() if len(batch) == 1 else {"pings": [p.wire() for p in batch]}
            for p in batch:
                p.attempts += 1
            try:
                response = await self.client.post("/api/v1/driver/pings", json=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                self._note("pings", error)  # never reached the server
            except httpx.HTTPError as error:
                self._note("pings", error)
                for p in batch:
                    p.unsure = True
            else:
                if response.status_code == 202:
                    refused = {r["index"]: r["error"] for r in response.json()["rejected"]}
                    for i, p in enumerate(batch):
                        if i in refused:
                            p.rejected = refused[i]
                        else:
                            p.acked = True
                    del box[: len(batch)]
                    continue
                self._note("pings", response.status_code)
            await asyncio.sleep(RETRY_PINGS_S)

    # --- drivers: rides ---

    async def _work(self, d: Driver) -> None:
        """The driver app: take offers (unless sleepy), then arrive, start and complete."""
        headers = {"Authorization": f"Bearer {d.token}"}
        seen: dict[tuple[int, str], float] = {}
        # Like a driver opening the app: go available through the API, so the tracker indexes the
        # driver from its first fix (a duty set in PostgreSQL alone waits for the tracker's sync).
        while not self.stopped.is_set():
            try:
                answer = await self.client.post("/api/v1/driver/status", json={"status": "available"}, headers=headers)
            except httpx.HTTPError as error:
                self._note("driver", error)
            else:
                if answer.status_code == 200:
                    break
                self._note("driver", answer.status_code)
            await asyncio.sleep(POLL_S)
        while not self.stopped.is_set():
            await asyncio.sleep(POLL_S)
            try:
                response = await self.client.get("/api/v1/driver/bookings/current", headers=headers)
                if response.status_code != 200:
                    self._note("driver", response.status_code)
                    continue
                ride = response.json()["booking"]
                if ride is not None:
                    since = seen.setdefault((ride["id"], ride["status"]), time.monotonic())
                    if time.monotonic() - since >= STEP_S:
                        step = NEXT_STEP[ride["status"]]
                        answer = await self.client.post(f"/api/v1/driver/bookings/{ride['id']}/{step}", headers=headers)
                        if answer.status_code != 200:
                            self._note("driver", answer.status_code)
                    continue
                if d.sleepy:
                    continue
                response = await self.client.get("/api/v1/driver/offers", headers=headers)
                if response.status_code != 200:
                    self._note("driver", response.status_code)
                    continue
                for offer in response.json()["offers"]:
                    answer = await self.client.post(f"/api/v1/driver/offers/{offer['id']}/accept", headers=headers)
                    if answer.status_code != 200:
                        self._note("driver", answer.status_code)  # 409: it expired meanwhile
            except httpx.HTTPError as error:
                self._note("driver", error)

    # --- riders ---

    async def _riders(self) -> None:
        n = 0
        while self.booking:
            token = self.customers[n % len(self.customers)]
            n += 1
            headers = {"Authorization": f"Bearer {token}"}
            pickup, dropoff = _near(self.rng, 700), _near(self.rng, 1500)
            try:
                quote = await self.client.post(
                    "/api/v1/quotes",
                    json={
                        "pickup": {"lat": pickup[0], "lng": pickup[1]},
                        "dropoff": {"lat": dropoff[0], "lng": dropoff[1]},
                    },
                    headers=headers,
                )
                if quote.status_code != 201:
                    self._note("rider", quote.status_code)
                else:
                    booking = await self.client.post(
                        "/api/v1/bookings",
                        json={
                            "quote_id": quote.json()["quote_id"],
                            "passenger": {"name": "Chaos", "phone": "+4930555"},
                            "confirm_no_driver": True,  # with every driver busy, nobody is near
                        },
                        headers=headers,
                    )
                    if booking.status_code != 201:
                        self._note("rider", booking.status_code)
                    else:
                        booking_id = booking.json()["id"]
                        self.booked.append((booking_id, self.phase))
                        if self.rng.random() < CANCEL_SHARE:
                            wait = self.rng.uniform(0.5, 4.0)
                            self.tasks.append(asyncio.create_task(self._cancel(booking_id, headers, wait)))
            except httpx.HTTPError as error:
                self._note("rider", error)
            await asyncio.sleep(BOOK_EVERY_S)

    async def _cancel(self, booking_id: int, headers: dict, after: float) -> None:
        """A rider changes their mind (409 once the ride has started: then it just goes on)."""
        await asyncio.sleep(after)
        for _ in range(10):
            try:
                response = await self.client.post(
                    f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "changed my mind"}, headers=headers
                )
                if response.status_code in (200, 409):
                    return
                self._note("cancel", response.status_code)
            except httpx.HTTPError as error:
                self._note("cancel", error)
            await asyncio.sleep(0.5)


async def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list[bytes]:
    """Every record of ``topic`` from the beginning (the embedded broker keeps them all)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    values: list[bytes] = []
    try:
        await consumer.topics()  # metadata
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert partitions, f"no topic {topic}"
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            assert time.monotonic() < deadline, f"could not read {topic} to its end within {timeout:g} s"
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            values += [m.value for msgs in batch.values() for m in msgs]
    finally:
        await consumer.stop()
    return values
