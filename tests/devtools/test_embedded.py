"""The embedded dev servers, started for real in temporary folders."""

from __future__ import annotations

import asyncio
import secrets
import socket
import stat

import asyncpg
import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hexfleet.devtools import embedded
from hexfleet.devtools.demo import DEMO_LOGINS, seed_demo
from hexfleet.migrate import migrate
from hexfleet.security import verify_password
from hexfleet.settings import Settings, SettingsError
from hexfleet.users import queries


def _port(address: str) -> int:
    # "redis://127.0.0.1:PORT/0" or "127.0.0.1:PORT"
    return int(address.rsplit(":", 1)[1].split("/")[0])


# --- redis ---------------------------------------------------------------------------


def test_redis_answers_and_stop_closes_its_port(tmp_path):
    service = embedded.start_redis(tmp_path)
    port = _port(service.url)
    try:
        assert service.url == f"redis://127.0.0.1:{port}/0"
        with redis.Redis.from_url(service.url) as client:
            assert client.ping() is True
        assert (tmp_path / "logs" / "redis.log").is_file()
    finally:
        service.stop()
    assert not embedded.port_open(port)
    service.stop()  # idempotent


def test_redis_keeps_its_data_across_restarts(tmp_path):
    first = embedded.start_redis(tmp_path)
    try:
        with redis.Redis.from_url(first.url) as client:
            client.set("hexfleet:test", "kept")
    finally:
        first.stop()  # SIGTERM: redis writes dump.rdb on the way out
    assert (tmp_path / "redis" / "dump.rdb").is_file()

    second = embedded.start_redis(tmp_path)
    try:
        with redis.Redis.from_url(second.url) as client:
            assert client.get("hexfleet:test") == b"kept"
    finally:
        second.stop()


def test_redis_on_a_taken_port_fails_clearly(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(embedded.EmbeddedError, match=f"embedded redis: port {port} in use"):
            embedded.start_redis(tmp_path, port=port)


# --- kafka ---------------------------------------------------------------------------


@pytest.fixture
def kafka(tmp_path):
    service = embedded.start_kafka(log_dir=tmp_path)
    yield service
    service.stop()


async def test_kafka_produce_and_consume_roundtrip(kafka):
    # Plain aiokafka, no idempotence: that needs streaming.compat's InitProducerId v3
    # (aiokafka's own v0 fails on Tansu), and this test is about the broker only.
    producer = AIOKafkaProducer(bootstrap_servers=kafka.url, acks="all")
    try:
        await producer.start()
        await producer.send_and_wait("roundtrip", b"ping", key=b"driver-1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer("roundtrip", bootstrap_servers=kafka.url, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=15)
    finally:
        await consumer.stop()
    assert (message.key, message.value) == (b"driver-1", b"ping")


def test_kafka_stop_closes_its_port_and_logs_readiness(tmp_path):
    service = embedded.start_kafka(log_dir=tmp_path)
    port = _port(service.url)
    assert service.url == f"127.0.0.1:{port}"
    assert embedded.port_open(port)
    service.stop()
    assert not embedded.port_open(port)
    assert "ready in" in (tmp_path / "kafka.log").read_text()


# --- postgres ------------------------------------------------------------------------


async def _select(url: str, sql: str):
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_postgres_serves_reuses_and_keeps_data(tmp_path):
    # Started in a thread: it blocks for about a second and must not stall the loop.
    first = await asyncio.to_thread(embedded.start_postgres, tmp_path)
    try:
        assert await _select(first.url, "SELECT 1") == 1
        assert await _select(first.url, "SELECT current_database()") == "hexfleet"
        started_at = await _select(first.url, "SELECT pg_postmaster_start_time()")
        await _select(first.url, "CREATE TABLE kept (id int)")

        again = await asyncio.to_thread(embedded.start_postgres, tmp_path)
        assert again.url == first.url
        assert await _select(again.url, "SELECT pg_postmaster_start_time()") == started_at
    finally:
        first.stop()
    with pytest.raises(OSError):
        await _select(first.url, "SELECT 1")

    restarted = await asyncio.to_thread(embedded.start_postgres, tmp_path)
    try:
        assert await _select(restarted.url, "SELECT count(*) FROM kept") == 0
    finally:
        restarted.stop()


# --- ensure_services -----------------------------------------------------------------


def _external(tmp_path, **changes) -> Settings:
    return Settings(
        database_url="postgresql://db.example/hexfleet",
        redis_url="redis://cache.example:6379/0",
        kafka_bootstrap_servers="kafka.example:9092",
        data_dir=str(tmp_path),
    ).with_(**changes)


def test_ensure_services_starts_nothing_when_urls_are_set(tmp_path, capsys):
    settings, services = embedded.ensure_services(_external(tmp_path))
    assert services == []
    assert settings.database_url == "postgresql://db.example/hexfleet"
    assert settings.redis_url == "redis://cache.example:6379/0"
    assert settings.kafka_bootstrap_servers == "kafka.example:9092"
    assert capsys.readouterr().out.splitlines() == [
        "postgres: using DATABASE_URL",
        "redis: using REDIS_URL",
        "kafka: using KAFKA_BOOTSTRAP_SERVERS",
    ]


def test_ensure_services_creates_the_secret_key_once(tmp_path):
    first, _ = embedded.ensure_services(_external(tmp_path))
    key_file = tmp_path / "secret_key"
    assert len(first.secret_key) >= 40
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    second, _ = embedded.ensure_services(_external(tmp_path))
    assert second.secret_key == first.secret_key

    from_the_env = secrets.token_urlsafe(48)
    given, _ = embedded.ensure_services(_external(tmp_path, secret_key=from_the_env))
    assert given.secret_key == from_the_env


def test_ensure_services_refuses_a_weak_secret_key_before_starting_anything(tmp_path):
    """`hexfleet dev` says so in one line, instead of starting servers for a web app that
    would refuse to start."""
    with pytest.raises(SettingsError, match="SECRET_KEY is too weak"):
        embedded.ensure_services(Settings(data_dir=str(tmp_path), secret_key="dev"))
    assert not (tmp_path / "secret_key").exists()
    (tmp_path / "secret_key").write_text("password123\n")  # written by hand
    with pytest.raises(embedded.EmbeddedError, match="weak key: delete it"):
        embedded.ensure_services(_external(tmp_path))


async def test_ensure_services_starts_the_missing_ones_and_dev_setup_is_idempotent(tmp_path, capsys):
    bare = Settings(data_dir=str(tmp_path))
    settings, services = await asyncio.to_thread(embedded.ensure_services, bare)
    try:
        assert [s.name for s in services] == ["postgres", "redis", "kafka"]
        out = capsys.readouterr().out
        assert "postgres: embedded at postgresql://" in out
        assert "kafka: embedded at 127.0.0.1:" in out
        assert embedded.port_open(_port(settings.redis_url))
        assert embedded.port_open(_port(settings.kafka_bootstrap_servers))

        # What `hexfleet dev` does next, twice: the second run changes nothing.
        assert await migrate(settings.database_url) != []
        assert len(await seed_demo(settings.database_url)) == len(DEMO_LOGINS)
        assert await migrate(settings.database_url) == []
        assert await seed_demo(settings.database_url) == []

        conn = await asyncpg.connect(settings.database_url)
        try:
            for email, password, role in DEMO_LOGINS:
                login = await queries.get_login(conn, email)
                assert login.user.role == role and not login.disabled
                assert verify_password(login.password_hash, password)
        finally:
            await conn.close()
    finally:
        embedded.stop_services(services)
    assert not embedded.port_open(_port(settings.redis_url))
    assert not embedded.port_open(_port(settings.kafka_bootstrap_servers))
    with pytest.raises(OSError):
        await _select(settings.database_url, "SELECT 1")
