"""Topics get KAFKA_REPLICATION_FACTOR replicas (auto: up to 3) and min.insync.replicas one
less; a factor the cluster cannot hold stops start-up with one readable line.

The test broker is one Tansu: auto means 1 there, and any explicit factor above 1 is more
than the cluster has. (Tansu itself would accept a factor of 3 on its one broker and report
three replicas on that broker, so the broker count is checked before asking.)"""

import asyncio
import subprocess
import sys

import pytest
from aiokafka import errors
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from helpers import server_env

from hexfleet.devtools.testing import free_port
from hexfleet.settings import SettingsError
from streaming.kafka import admin_client, ensure_ride_topics, ensure_topic, hexfleet_topics, replication_factors
from streaming.replication import (
    KafkaSetupError,
    creation_error,
    min_insync_replicas,
    replication_factor,
    too_few_brokers,
    topic_configs,
    under_replicated,
)


@pytest.mark.parametrize(
    ("setting", "brokers", "factor"),
    [(None, 1, 1), (None, 2, 2), (None, 3, 3), (None, 5, 3), (None, 12, 3), (1, 5, 1), (4, 5, 4), (2, 1, 2)],
)
def test_auto_is_three_or_the_broker_count_and_a_number_wins(setting, brokers, factor):
    assert replication_factor(setting, brokers) == factor


@pytest.mark.parametrize(("factor", "min_insync"), [(1, 1), (2, 1), (3, 2), (4, 3), (5, 4)])
def test_min_insync_replicas_is_one_less_and_at_least_one(factor, min_insync):
    assert min_insync_replicas(factor) == min_insync
    assert topic_configs(factor) == {"min.insync.replicas": str(min_insync)}


@pytest.mark.parametrize(("factor", "brokers"), [(1, 1), (3, 3), (3, 5)])
def test_a_factor_the_cluster_holds_is_fine(factor, brokers):
    assert too_few_brokers("driver-locations", factor, brokers) is None


@pytest.mark.parametrize(
    ("factor", "brokers", "says"),
    [(2, 1, "the cluster has 1 broker reachable"), (5, 3, "the cluster has 3 brokers reachable")],
)
def test_a_factor_above_the_broker_count_says_so(factor, brokers, says):
    error = too_few_brokers("driver-locations", factor, brokers)
    assert isinstance(error, KafkaSetupError) and isinstance(error, SettingsError)
    assert f"cannot create Kafka topic 'driver-locations' with KAFKA_REPLICATION_FACTOR={factor}: {says}" in str(error)


@pytest.mark.parametrize(
    ("code", "kind", "says"),
    [
        (0, None, None),
        (errors.TopicAlreadyExistsError.errno, None, None),  # another process created it first
        (errors.InvalidReplicationFactorError.errno, KafkaSetupError, "the brokers refused Kafka topic 'surge' with"),
        (errors.TopicAuthorizationFailedError.errno, KafkaSetupError, "not allowed to create Kafka topic 'surge'"),
        (errors.ClusterAuthorizationFailedError.errno, KafkaSetupError, "create it by hand as the README's"),
        (errors.InvalidConfigurationError.errno, KafkaSetupError, "min.insync.replicas 2) (why): create it by hand"),
        (errors.PolicyViolationError.errno, KafkaSetupError, "the brokers refused Kafka topic 'surge'"),
        (errors.RequestTimedOutError.errno, errors.RequestTimedOutError, "creating topic 'surge' (why)"),
        (errors.NotControllerError.errno, errors.NotControllerError, "creating topic 'surge' (why)"),
    ],
)
def test_create_topics_answers(code, kind, says):
    error = creation_error("surge", code, "why", 3)
    if kind is None:
        assert error is None
    else:
        assert type(error) is kind and says in str(error)
        # Only what the operator must fix stops the process; the rest is retried like broker trouble.
        assert isinstance(error, SettingsError) == (kind is KafkaSetupError)


@pytest.mark.parametrize(
    ("setting", "brokers", "factors", "warned"),
    [
        (None, 1, {"a": 1, "b": 1}, []),
        (None, 3, {"a": 3, "b": 3}, []),
        (None, 3, {"a": 1, "b": 3}, [("a", 1, 3)]),
        (None, 2, {"a": 1, "b": 2}, [("a", 1, 2)]),
        (None, 6, {"a": 3}, []),
        (2, 1, {"a": 1, "b": 1}, [("a", 1, 2), ("b", 1, 2)]),
        (3, 3, {"b": 2, "a": 3}, [("b", 2, 3)]),
        (1, 3, {"a": 1}, []),  # asked for 1 on purpose: nothing to warn about
        (None, 3, {}, []),  # no topics yet: they will be created as configured
    ],
)
def test_under_replicated_topics(setting, brokers, factors, warned):
    found = under_replicated(setting, brokers, factors)
    assert [(w["topic"], w["replication_factor"], w["expected"]) for w in found] == warned
    for warning in found:
        assert f"topic {warning['topic']} has {warning['replication_factor']} replica(s)" in warning["message"]


# --- against the broker ----------------------------------------------------------------


async def min_insync_of(settings, topics) -> dict[str, str]:
    async with admin_client(settings) as admin:
        answers = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t, None) for t in topics])
    return {
        resource[3]: dict((entry[0], entry[1]) for entry in resource[4])["min.insync.replicas"]
        for answer in answers
        for resource in answer.resources
    }


async def test_auto_creates_topics_with_one_replica_on_one_broker(settings):
    await ensure_topic(settings)
    await ensure_ride_topics(settings)
    brokers, factors = await replication_factors(settings)
    assert brokers == 1
    assert factors == dict.fromkeys(hexfleet_topics(settings), 1)
    assert await min_insync_of(settings, hexfleet_topics(settings)) == dict.fromkeys(hexfleet_topics(settings), "1")


async def test_an_explicit_factor_the_cluster_holds_is_used(settings):
    one = settings.with_(kafka_replication_factor="1")
    await ensure_topic(one)
    assert (await replication_factors(one))[1] == {settings.kafka_topic_locations: 1}


async def test_a_factor_above_the_broker_count_is_a_readable_error_not_a_hang(settings):
    two = settings.with_(kafka_replication_factor="2")
    with pytest.raises(KafkaSetupError) as raised:
        await asyncio.wait_for(ensure_topic(two), 15)
    assert str(raised.value) == (
        f"cannot create Kafka topic '{settings.kafka_topic_locations}' with KAFKA_REPLICATION_FACTOR=2: the cluster "
        "has 1 broker reachable. Lower KAFKA_REPLICATION_FACTOR (or set it to auto), add brokers, or create the "
        "topic by hand (README, Deployment)."
    )
    async with admin_client(settings) as admin:
        assert settings.kafka_topic_locations not in await admin.list_topics()


async def test_existing_topics_are_left_alone_whatever_the_setting(settings):
    await ensure_topic(settings)  # auto: 1 replica
    await asyncio.wait_for(ensure_topic(settings.with_(kafka_replication_factor="3")), 15)  # no error: exists
    assert (await replication_factors(settings))[1] == {settings.kafka_topic_locations: 1}


def _run(argv: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=90, check=False)


@pytest.mark.parametrize(
    ("process", "argv", "exit_code"),
    [
        ("streaming", [sys.executable, "-m", "streaming"], 2),
        ("worker", [sys.executable, "-m", "workers"], 2),
        # uvicorn exits 3 when the app's start-up fails; Quart hands it the error's text.
        ("web", [sys.executable, "-m", "uvicorn", "--factory", "webapp:create_app", "--port", "PORT"], 3),
    ],
)
async def test_each_process_stops_with_one_readable_line(settings, db, redis, process, argv, exit_code):
    argv = [str(free_port()) if a == "PORT" else a for a in argv]
    env = {**server_env(settings), "KAFKA_REPLICATION_FACTOR": "2"}
    done = await asyncio.to_thread(_run, argv, env)
    assert done.returncode == exit_code, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    # The first topic that process creates (the web and tracker: locations; the worker: bookings).
    expected = "cannot create Kafka topic '"
    line = next((ln for ln in done.stderr.splitlines() if expected in ln), None)
    assert line is not None, done.stderr[-3000:]
    assert "with KAFKA_REPLICATION_FACTOR=2: the cluster has 1 broker reachable" in line
    if process != "web":
        assert line.startswith(f"{process}: cannot create Kafka topic")
