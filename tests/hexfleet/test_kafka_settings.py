"""Kafka's production settings: replication factor and security, checked at start-up (table tests)."""

import logging

import pytest

from hexfleet.logs import setup_logging
from hexfleet.settings import Settings, SettingsError, replication_factor_setting

PASSWORD = "pw-do-not-show-7Qx"
SASL = {"KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "hexfleet", "KAFKA_SASL_PASSWORD": PASSWORD}


@pytest.fixture
def pem(tmp_path):
    """An existing file for the path checks (its content is the TLS tests' business)."""
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return str(path)


@pytest.mark.parametrize(
    ("raw", "factor"),
    [("auto", None), ("AUTO", None), ("", None), (" auto ", None), ("1", 1), ("3", 3), ("5", 5)],
)
def test_replication_factor_is_auto_or_a_number(raw, factor):
    settings = Settings.from_env({"KAFKA_REPLICATION_FACTOR": raw})
    assert replication_factor_setting(settings.kafka_replication_factor) == factor


def test_replication_factor_defaults_to_auto():
    assert Settings.from_env({}).kafka_replication_factor == "auto"
    assert replication_factor_setting(Settings.from_env({}).kafka_replication_factor) is None


@pytest.mark.parametrize("raw", ["0", "-1", "three", "2.5", "auto3"])
def test_a_bad_replication_factor_stops_start_up(raw):
    with pytest.raises(
        SettingsError, match=f"KAFKA_REPLICATION_FACTOR must be auto or a number of at least 1, not '{raw}'"
    ):
        Settings.from_env({"KAFKA_REPLICATION_FACTOR": raw})


@pytest.mark.parametrize(
    ("env", "protocol", "mechanism"),
    [
        ({}, "PLAINTEXT", ""),
        ({"KAFKA_SECURITY_PROTOCOL": "ssl"}, "SSL", ""),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", **SASL}, "SASL_SSL", "SCRAM-SHA-512"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", **SASL, "KAFKA_SASL_MECHANISM": "plain"},
            "SASL_PLAINTEXT",
            "PLAIN",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", **SASL, "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256"},
            "SASL_SSL",
            "SCRAM-SHA-256",
        ),
    ],
)
def test_security_settings_that_work_together(env, protocol, mechanism):
    settings = Settings.from_env(env)
    assert (settings.kafka_security_protocol, settings.kafka_sasl_mechanism) == (protocol, mechanism)


def test_tls_files_that_exist_are_taken(pem):
    env = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", **SASL}
    files = {"KAFKA_SSL_CAFILE": pem, "KAFKA_SSL_CERTFILE": pem, "KAFKA_SSL_KEYFILE": pem}
    settings = Settings.from_env({**env, **files})
    assert (settings.kafka_ssl_cafile, settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile) == (pem, pem, pem)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"KAFKA_SECURITY_PROTOCOL": "TLS"},
            "KAFKA_SECURITY_PROTOCOL must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, not 'TLS'",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", **SASL, "KAFKA_SASL_MECHANISM": "GSSAPI"},
            "KAFKA_SASL_MECHANISM must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, not 'GSSAPI'",
        ),
        (
            {"KAFKA_SASL_MECHANISM": "PLAIN"},
            "KAFKA_SASL_MECHANISM set, but KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use SASL: set it to SASL_SSL",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", **SASL},
            "KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD set, but "
            "KAFKA_SECURITY_PROTOCOL=SSL does not use SASL",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
            "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD "
            "(the mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", **SASL, "KAFKA_SASL_PASSWORD": ""},
            "KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT needs KAFKA_SASL_PASSWORD$",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", **SASL, "KAFKA_SASL_USERNAME": ""},
            "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_USERNAME$",
        ),
        (
            {"KAFKA_SSL_CAFILE": "{pem}"},
            "KAFKA_SSL_CAFILE set, but KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use TLS: set it to SSL or SASL_SSL",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", **SASL, "KAFKA_SSL_CERTFILE": "{pem}"},
            "KAFKA_SSL_CERTFILE set, but KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT does not use TLS",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/nonexistent/hexfleet/ca.pem"},
            "KAFKA_SSL_CAFILE: no such file: /nonexistent/hexfleet/ca.pem",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", **SASL, "KAFKA_SSL_CAFILE": "/"},
            "KAFKA_SSL_CAFILE: not a file: /",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_KEYFILE": "{pem}"},
            "KAFKA_SSL_KEYFILE set without KAFKA_SSL_CERTFILE",
        ),
    ],
)
def test_security_settings_that_cannot_work_stop_start_up(env, message, pem):
    env = {name: value.replace("{pem}", pem) for name, value in env.items()}
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        Settings.from_env(env)
    assert PASSWORD not in str(raised.value)


def test_the_password_is_not_in_the_settings_repr():
    settings = Settings.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", **SASL})
    assert settings.kafka_sasl_password == PASSWORD
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)
    assert "kafka_sasl_username='hexfleet'" in repr(settings)  # the rest is still there to read


def test_logging_at_debug_keeps_aiokafka_s_request_dumps_out():
    """aiokafka logs every request at DEBUG, SASL's authenticate request (the PLAIN password) too."""
    root = logging.getLogger()
    before = (root.handlers[:], root.level, logging.getLogger("aiokafka").level)
    try:
        setup_logging(Settings.from_env({"LOG_LEVEL": "DEBUG", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", **SASL}))
        assert root.isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("aiokafka.conn").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("aiokafka.conn").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:], level, kafka_level = before
        root.setLevel(level)
        logging.getLogger("aiokafka").setLevel(kafka_level)
