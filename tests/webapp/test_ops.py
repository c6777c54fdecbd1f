"""Operations endpoints and the API docs."""

import re

from helpers import make_driver


async def test_health_ready_and_metrics(client, db):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"postgres": "ok", "redis": "ok", "kafka": "ok"}}
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
