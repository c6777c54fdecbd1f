"""/readyz warns, without failing, about topics with fewer replicas than the setting asks for;
it only reads the brokers' metadata (it never creates or changes a topic) and shows no secret."""

import httpx

from hexfleet.settings import Settings
from streaming.kafka import admin_client, ensure_ride_topics, ensure_topic, hexfleet_topics, replication_factors
from webapp import create_app
from webapp.ops import ReplicationCheck
from webapp.services import services

PASSWORD = "pw-do-not-show-7Qx"


async def readyz(app) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.get("/readyz")


async def test_auto_on_one_broker_has_nothing_to_warn_about(app):
    answer = await readyz(app)
    assert answer.status_code == 200
    assert answer.json()["warnings"] == []


async def test_a_setting_above_the_topics_replication_warns_and_stays_ready(settings, db, redis, capsys):
    await ensure_topic(settings)
    await ensure_ride_topics(settings)  # auto on the one test broker: 1 replica each
    async with admin_client(settings) as admin:
        topics_before = set(await admin.list_topics())
    strict = settings.with_(kafka_replication_factor="2")
    app = create_app(strict)
    async with app.test_app():  # starts: the topics exist, so nothing is created with 2
        answer = await readyz(app)
        again = await readyz(app)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ready" and set(body["checks"].values()) == {"ok"}
    warned = {w["topic"]: (w["replication_factor"], w["expected"]) for w in body["warnings"]}
    assert warned == dict.fromkeys(hexfleet_topics(settings), (1, 2))
    for warning in body["warnings"]:
        assert warning["message"].startswith(f"topic {warning['topic']} has 1 replica(s), fewer than 2")
    assert again.json()["warnings"] == body["warnings"]
    # Told once in the log too (the second probe used the same check; the app logs to stderr).
    logged = [line for line in capsys.readouterr().err.splitlines() if "replica(s), fewer than 2" in line]
    assert len(logged) == 3
    assert all(any(line.endswith(w["message"]) for line in logged) for w in body["warnings"])
    # Only read: no topic created or changed.
    async with admin_client(settings) as admin:
        assert set(await admin.list_topics()) == topics_before
    assert (await replication_factors(settings))[1] == dict.fromkeys(hexfleet_topics(settings), 1)


async def test_a_check_that_cannot_connect_is_a_warning_without_the_password(app, settings):
    """The test broker speaks no SASL: the check fails at the handshake, as with a wrong login."""
    sasl = Settings.from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": "hexfleet",
            "KAFKA_SASL_PASSWORD": PASSWORD,
        }
    )
    services(app).kafka_replication = ReplicationCheck(sasl)
    answer = await readyz(app)
    assert answer.status_code == 200  # readiness is the kafka check's business, and it is fine
    assert answer.json()["status"] == "ready"
    [warning] = answer.json()["warnings"]
    assert warning["message"].startswith("could not check the topics' replication: KafkaConnectionError")
    assert PASSWORD not in answer.text
