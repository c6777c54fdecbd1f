"""How many replicas hexfleet's topics get, and what counts as under-replicated: pure rules.

With acks=all a record is acknowledged once every in-sync replica has it; a topic with one
replica (what hexfleet created before) loses acknowledged pings and booking events with the
broker that held them. min.insync.replicas = replicas - 1 keeps producing through the loss
of one broker while still refusing to acknowledge a record only one broker holds (for 3 or
more replicas; with 1 or 2 it cannot be more than 1 without stopping on any broker loss).
"""

from __future__ import annotations

from aiokafka import errors

from hexfleet.settings import SettingsError

AUTO_MAX_FACTOR = 3  # what managed Kafka and Kafka's own guidance use for durable topics


class KafkaSetupError(SettingsError):
    """A topic cannot be created as configured: retrying will not help, the operator must act."""


def replication_factor(setting: int | None, brokers: int) -> int:
    """The factor to create topics with. ``setting`` None is auto: 3, or fewer on a smaller cluster."""
    if setting is None:
        return max(1, min(AUTO_MAX_FACTOR, brokers))
    return setting


def min_insync_replicas(factor: int) -> int:
    return max(1, factor - 1)


def topic_configs(factor: int) -> dict[str, str]:
    return {"min.insync.replicas": str(min_insync_replicas(factor))}


def too_few_brokers(topic: str, factor: int, brokers: int) -> KafkaSetupError | None:
    """Checked before asking: some brokers (Tansu) accept a factor above their size and then
    cannot hold it; Kafka refuses it, and this says why in our own words."""
    if factor <= brokers:
        return None
    return KafkaSetupError(
        f"cannot create Kafka topic {topic!r} with KAFKA_REPLICATION_FACTOR={factor}: the cluster has "
        f"{brokers} broker{'s' if brokers != 1 else ''} reachable. Lower KAFKA_REPLICATION_FACTOR (or set it "
        "to auto), add brokers, or create the topic by hand (README, Deployment)."
    )


def creation_error(topic: str, code: int, message: str | None, factor: int) -> Exception | None:
    """The exception for one topic's CreateTopics answer; None when the topic now exists.

    Answers the operator has to act on are KafkaSetupError (they stop start-up with one line);
    anything else is the broker's own error, retried like any broker trouble."""
    if code in (errors.NoError.errno, errors.TopicAlreadyExistsError.errno):
        return None  # created, or another process won the race
    detail = f" ({message})" if message else ""
    if code == errors.InvalidReplicationFactorError.errno:
        return KafkaSetupError(
            f"the brokers refused Kafka topic {topic!r} with replication factor {factor}{detail}: "
            "lower KAFKA_REPLICATION_FACTOR (or set it to auto), or create the topic by hand (README, Deployment)."
        )
    if code in (errors.TopicAuthorizationFailedError.errno, errors.ClusterAuthorizationFailedError.errno):
        return KafkaSetupError(
            f"not allowed to create Kafka topic {topic!r}{detail}: create it by hand as the README's Deployment "
            "section describes, or grant this user the right to create topics."
        )
    if code in (errors.InvalidConfigurationError.errno, errors.PolicyViolationError.errno):
        return KafkaSetupError(
            f"the brokers refused Kafka topic {topic!r} (replication factor {factor}, "
            f"min.insync.replicas {min_insync_replicas(factor)}){detail}: create it by hand (README, Deployment)."
        )
    return errors.for_code(code)(f"creating topic {topic!r}{detail}")


def under_replicated(setting: int | None, brokers: int, factors: dict[str, int]) -> list[dict]:
    """Topics with fewer replicas than hexfleet would create them with now, for /readyz.

    ``factors``: topic → its replication factor (the fewest replicas of any partition)."""
    expected = replication_factor(setting, brokers)
    why = "KAFKA_REPLICATION_FACTOR" if setting is not None else f"auto for {brokers} broker(s)"
    return [
        {
            "topic": topic,
            "replication_factor": factor,
            "expected": expected,
            "message": f"topic {topic} has {factor} replica(s), fewer than {expected} ({why}): "
            "a broker lost can lose acknowledged records",
        }
        for topic, factor in sorted(factors.items())
        if factor < expected
    ]
