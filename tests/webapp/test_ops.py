"""Operations endpoints and the API docs."""

import re

from helpers import make_driver


async def test_health_ready_and_metrics(client, db):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"postgres": "ok", "redis": "ok", "kafka": "ok"},
        "warnings": [],
    }
    _, device = await make_driver(db)
    await client.post("/api/v1/driver/pings", content=b"{", headers={"Authorization": f"Bearer {device.token}"})
    text = (await client.get("/metrics")).text
    assert 'hexfleet_pings_rejected_total{reason="malformed-json"} 1.0' in text
    for name in (
        "hexfleet_pings_accepted_total",
        "hexfleet_produce_seconds",
        "hexfleet_hub_subscribers",
        "hexfleet_fanout_consumer_lag",
    ):
        assert name in text


async def test_openapi_documents_the_api_and_docs_load_offline(client, app):
    spec = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/driver/pings", "/api/v1/drivers", "/api/v1/drivers/nearby", "/api/v1/stream/positions"):
        assert path in spec["paths"]
    docs = (await client.get("/docs")).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs)
    assert assets and all(a.startswith("/static/") or a.startswith("/openapi") for a in assets), assets
    for asset in assets:
        if asset.startswith("/static/"):
            assert (await client.get(asset)).status_code == 200, asset


async def test_docs_describe_the_phone_protocols_and_the_websocket_and_link_back(client, app):
    spec = (await client.get("/openapi.json")).json()
    assert set(spec["paths"]["/osmand"]) == {"get", "post"}
    assert "post" in spec["paths"]["/owntracks"]
    assert "get" in spec["paths"]["/api/v1/ws/positions"]
    assert spec["components"]["securitySchemes"]["basic"] == {"type": "http", "scheme": "basic"}
    assert "(/)" in spec["info"]["description"]  # Swagger UI shows it as a link back to the app
    # What the docs name by hand is what the app serves (a renamed route must not leave them stale).
    served = {(rule.rule, method.lower()) for rule in app.url_map.iter_rules() for method in rule.methods}
    from webapp.apidocs import EXTRA_PATHS

    documented = {(path, method) for path, item in EXTRA_PATHS.items() for method in item}
    assert documented <= served, documented - served
    websockets = {rule.rule for rule in app.url_map.iter_rules() if rule.websocket}
    assert websockets <= set(spec["paths"]), websockets - set(spec["paths"])
