import pytest

from hexfleet.settings import Settings, SettingsError, documented_settings


def test_defaults_and_types():
    s = Settings.from_env({"PORT": "9000", "STALE_AFTER_S": "30", "SECURE_COOKIES": "yes"})
    assert (s.port, s.stale_after_s, s.secure_cookies) == (9000, 30.0, True)
    assert s.kafka_topic_locations == "driver-locations"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT must be a int"),
        ({"PORT": "0"}, "at least 1"),
        ({"SECURE_COOKIES": "maybe"}, "true or false"),
        ({"MAP_CENTER": "north"}, "lat,lng"),
        ({"MAP_CENTER": "95,0"}, "out of range"),
        ({"LEARNED_SPEEDS_TZ": "Mars/Olympus"}, "LEARNED_SPEEDS_TZ must be an IANA time zone"),
        ({"LEARNED_SPEEDS_MIN_PASSES": "0"}, "at least 1"),
    ],
)
def test_bad_values_fail_loudly(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_missing_services_are_named():
    with pytest.raises(SettingsError, match="DATABASE_URL, REDIS_URL, KAFKA_BOOTSTRAP_SERVERS not set"):
        Settings.from_env({}).require_services()


def test_every_setting_is_documented():
    names = [name for name, _default, doc in documented_settings() if doc]
    assert len(names) == len(documented_settings())
    assert "STALE_AFTER_S" in names and "MAP_TILE_URL" in names


def test_the_readme_documents_every_setting():
    """The README's configuration table lists each variable with its default."""
    from hexfleet.settings import ROOT

    readme = (ROOT / "README.md").read_text()
    for env, default, _doc in documented_settings():
        shown = "./.data" if env == "HEXFLEET_DATA_DIR" else (default or "(unset)")
        assert f"| `{env}` | `{shown}` |" in readme, env


# ---------------------------------------------------------------- SECRET_KEY's strength


@pytest.mark.parametrize(
    ("key", "low", "high"),
    [
        ("", 0, 0),
        ("a" * 200, 0, 0),  # one character, however long
        ("ab" * 100, 0, 2),  # a short piece repeated counts once
        ("abcdefghij" * 20, 40, 50),  # ten letters, repeated: ten letters' worth
        ("Tr0ub4dor&3" * 10, 70, 80),
        ("test-secret", 20, 35),  # few distinct characters: only those count
        ("changeme-changeme-changeme-changeme-changeme", 50, 55),  # nine characters repeated
        ("0123456789" * 8, 30, 40),
        # 64 hex digits (openssl rand -hex 32): lowercase and digits, 36 symbols
        ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 330, 331),
        # 43 base64url characters (secrets.token_urlsafe(32)) from all four classes: 95 symbols
        ("kYXdIBTkZ4orG6sswww6TMUSZFxNrf-J_0wQ9aPLmvE", 282, 283),
        # no "-" or "_" in it: 62 symbols, just over 256 bits
        ("kYXdIBTkZ4orG6sswww6TMUSZFxNrfZJa0wQ9aPLmvE", 256, 257),
        # a prefix, then a repeat: not one piece repeated, the whole key counts
        ("xYz" + "kYXdIBTkZ4orG6sswww6TMUSZFxNrf-J_0wQ9aPLmvE" * 2, 584, 585),
    ],
)
def test_secret_key_bits(key, low, high):
    from hexfleet.security import secret_key_bits

    assert low <= secret_key_bits(key) <= high, secret_key_bits(key)


def test_fresh_random_keys_always_pass():
    import secrets

    from hexfleet.security import MIN_SECRET_KEY_BITS, secret_key_bits

    for make in (lambda: secrets.token_urlsafe(48), lambda: secrets.token_hex(32)):
        assert all(secret_key_bits(make()) >= MIN_SECRET_KEY_BITS for _ in range(2000))


@pytest.mark.parametrize(
    "key", ["test-secret", "x" * 100, "not-very-secret-but-long-" * 4, "0123456789abcdef0123456789abcdef", "ab" * 64]
)
def test_a_weak_secret_key_is_refused_in_one_line(key):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SECRET_KEY": key}).require_secret_key()
    message = str(refused.value)
    assert message.startswith("SECRET_KEY is too weak") and "at least 256" in message and "\n" not in message
    assert key not in message  # the key itself is never printed


def test_a_strong_secret_key_is_taken():
    key = "kYXdIBTkZ4orG6sswww6TMUSZFxNrf-J_0wQ9aPLmvEq3Hx8Nn2RcT5uVbW7yZ1dA"
    assert Settings.from_env({"SECRET_KEY": key}).require_secret_key() == key
