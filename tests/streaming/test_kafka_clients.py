"""Every Kafka client hexfleet makes connects with the security settings: one function builds
their common arguments (table tests), and no client is built anywhere else (a source scan)."""

import ast
import ssl
from pathlib import Path

import certifi
import pytest

from hexfleet.settings import ROOT, Settings, SettingsError
from streaming.kafka import client_options, make_admin, make_consumer, make_producer

PASSWORD = "pw-do-not-show-7Qx"
SERVERS = "broker-1.example:9093,broker-2.example:9093"
SASL = {"KAFKA_SASL_USERNAME": "hexfleet", "KAFKA_SASL_PASSWORD": PASSWORD}
CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}
PACKAGES = ("hexfleet", "streaming", "webapp", "workers")  # everything that ships (devtools included)
THE_ONE_MODULE = Path("streaming/kafka.py")


def settings_from(env: dict) -> Settings:
    return Settings.from_env({"KAFKA_BOOTSTRAP_SERVERS": SERVERS, **env})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {"security_protocol": "PLAINTEXT"}),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", **SASL},
            {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_plain_username": "hexfleet",
                "sasl_plain_password": PASSWORD,
            },
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "KAFKA_SASL_MECHANISM": "plain", **SASL},
            {
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "PLAIN",
                "sasl_plain_username": "hexfleet",
                "sasl_plain_password": PASSWORD,
                "ssl_context": ssl.SSLContext,
            },
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", **SASL},
            {
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "SCRAM-SHA-256",
                "sasl_plain_username": "hexfleet",
                "sasl_plain_password": PASSWORD,
                "ssl_context": ssl.SSLContext,
            },
        ),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL"}, {"security_protocol": "SSL", "ssl_context": ssl.SSLContext}),
    ],
)
def test_client_options_follow_the_settings(env, expected):
    options = client_options(settings_from(env))
    assert options.pop("bootstrap_servers") == SERVERS
    assert set(options) == set(expected)
    for name, value in expected.items():
        if isinstance(value, type):
            assert isinstance(options[name], value), name
        else:
            assert options[name] == value, name


def test_tls_verifies_the_brokers_against_the_ca_file():
    settings = settings_from({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": certifi.where()})
    context = client_options(settings)["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    loaded = {dict(item[0] for item in ca["subject"]).get("commonName") for ca in context.get_ca_certs()}
    assert "ISRG Root X1" in loaded  # a CA of certifi's bundle: the file given, not nothing


@pytest.mark.parametrize("setting", ["KAFKA_SSL_CAFILE", "KAFKA_SSL_CERTFILE"])
def test_a_tls_file_that_is_no_pem_is_a_readable_error(tmp_path, setting):
    bad = tmp_path / "not.pem"
    bad.write_text("this is not a certificate\n")
    settings = settings_from(
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "PLAIN", **SASL, setting: str(bad)}
    )
    with pytest.raises(SettingsError, match=f"cannot use the Kafka TLS files \\({setting}={bad}\\)") as raised:
        client_options(settings)
    assert "PEM files" in str(raised.value) and PASSWORD not in str(raised.value)


async def test_producers_consumers_and_admin_clients_all_get_the_options():
    settings = settings_from(
        {
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            **SASL,
            "KAFKA_SSL_CAFILE": certifi.where(),
        }
    )
    producer, consumer, admin = make_producer(settings), make_consumer(settings, group_id=None), make_admin(settings)
    try:
        for client in (producer.client, consumer._client, admin._client):
            assert client._bootstrap_servers == SERVERS
            assert client._security_protocol == "SASL_SSL"
            assert isinstance(client._ssl_context, ssl.SSLContext)
            assert (client._sasl_mechanism, client._sasl_plain_username) == ("SCRAM-SHA-512", "hexfleet")
            assert client._sasl_plain_password == PASSWORD
    finally:
        await producer.stop()
        await consumer.stop()
        await admin.close()


# --- the source scan -----------------------------------------------------------------


def client_constructions(source: str) -> tuple[list[int], list[int], bool]:
    """(lines building a client with **client_options(...), lines building one without,
    whether the module imports a client class at all)."""
    tree = ast.parse(source)
    names = set(CLIENTS)
    imports = False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aiokafka"):
            for alias in node.names:
                if alias.name in CLIENTS:
                    imports = True
                    names.add(alias.asname or alias.name)
    good, bad = [], []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if called not in names:
            continue
        through_options = any(
            kw.arg is None
            and isinstance(kw.value, ast.Call)
            and isinstance(kw.value.func, ast.Name)
            and kw.value.func.id == "client_options"
            for kw in node.keywords
        )
        (good if through_options else bad).append(node.lineno)
    return good, bad, imports


@pytest.mark.parametrize(
    ("source", "good", "bad", "imports"),
    [
        ("from aiokafka import AIOKafkaProducer\nAIOKafkaProducer(**client_options(s), linger_ms=5)\n", [2], [], True),
        ("from aiokafka import AIOKafkaProducer\nAIOKafkaProducer(bootstrap_servers='b')\n", [], [2], True),
        ("from aiokafka import AIOKafkaConsumer as C\n\nC('topic', **options)\n", [], [3], True),
        ("import aiokafka\naiokafka.AIOKafkaConsumer(**client_options(s))\n", [2], [], False),
        ("import aiokafka.admin\naiokafka.admin.AIOKafkaAdminClient(bootstrap_servers='b')\n", [], [2], False),
        ("from aiokafka.admin import AIOKafkaAdminClient\n", [], [], True),
        ("from aiokafka import TopicPartition\nTopicPartition('t', 0)\n", [], [], False),
    ],
)
def test_the_scan_finds_constructions_however_they_are_spelled(source, good, bad, imports):
    assert client_constructions(source) == (good, bad, imports)


def test_every_kafka_client_is_built_through_client_options():
    built, problems = [], []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            good, bad, imports = client_constructions(path.read_text())
            built += [f"{relative}:{line}" for line in good]
            problems += [f"{relative}:{line} builds a Kafka client without **client_options(settings)" for line in bad]
            if imports and relative != THE_ONE_MODULE:
                problems.append(f"{relative} imports a Kafka client class: build clients in {THE_ONE_MODULE}")
    assert not problems, problems
    # The three makers (producer, consumer, admin), all in the one module: the scan saw them.
    assert len(built) == 3 and all(site.startswith(str(THE_ONE_MODULE)) for site in built), built
