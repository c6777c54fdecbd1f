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
