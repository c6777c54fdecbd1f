"""What /docs shows beyond the routes quart-schema describes by itself.

The phone protocols (/osmand, /owntracks) parse their own formats and the position stream
is also a WebSocket: quart-schema leaves all three out, and an integrator reading /docs
would not know they exist. They are described here by hand, next to what generated them
(webapp/phones.py, webapp/api/stream.py); tests/webapp/test_apidocs.py checks both agree.
"""

from __future__ import annotations

from typing import Any

from quart_schema.openapi import OpenAPIProvider

DESCRIPTION = (
    "[← Back to hexfleet](/) · Driver apps post positions to `/api/v1/driver/pings` (Bearer device token), "
    "or use Traccar Client (`/osmand`) or OwnTracks (`/owntracks`). Dispatchers and scripts use Bearer API "
    "tokens (`hexfleet users add`) or the browser session. Errors are `application/problem+json`."
)

_LATLNG = {"type": "number"}
_OSMAND_PARAMS = [
    {"name": "id", "in": "query", "required": True, "schema": {"type": "string"}, "description": "device id"},
    {"name": "lat", "in": "query", "required": True, "schema": _LATLNG},
    {"name": "lon", "in": "query", "required": True, "schema": _LATLNG},
    {
        "name": "timestamp",
        "in": "query",
        "schema": {"type": "string"},
        "description": "epoch seconds or milliseconds, or an ISO 8601 time (default: now)",
    },
    *(
        {"name": name, "in": "query", "schema": {"type": "number"}, "description": text}
        for name, text in (
            ("speed", "knots"),
            ("bearing", "degrees"),
            ("altitude", "metres"),
            ("accuracy", "metres"),
            ("batt", "battery, percent"),
        )
    ),
]
_PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}
_OSMAND_ANSWERS = {
    "200": {"description": "taken"},
    "400": {"description": "unreadable report", "content": _PROBLEM},
    "404": {"description": "no device with this id", "content": _PROBLEM},
    "429": {"description": "too many reports from this device", "content": _PROBLEM},
    "503": {"description": "the broker is away: retry after Retry-After", "content": _PROBLEM},
}

EXTRA_PATHS: dict[str, dict[str, Any]] = {
    "/osmand": {
        "get": {
            "tags": ["phones"],
            "summary": "Traccar Client (OsmAnd protocol): one position in the query string",
            "description": "The device id is the credential: shown once, when the device is created or rotated "
            "(`hexfleet drivers add` / `rotate`, or the control room's *Connect a phone*), and stored hashed. "
            "Query strings land in proxy access logs: the shipped nginx config masks `id` and `deviceid`. "
            "Also served on `OSMAND_PORT` (5055) when set.",
            "parameters": _OSMAND_PARAMS,
            "responses": _OSMAND_ANSWERS,
        },
        "post": {
            "tags": ["phones"],
            "summary": "Traccar Client: the same fields as a form body, or background-geolocation JSON",
            "requestBody": {
                "content": {
                    "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                    "application/json": {
                        "schema": {"type": "object"},
                        "example": {
                            "device_id": "hf-…",
                            "location": {
                                "timestamp": "2026-01-01T10:00:00Z",
                                "coords": {"latitude": 52.52, "longitude": 13.405, "accuracy": 8},
                            },
                        },
                    },
                }
            },
            "responses": _OSMAND_ANSWERS,
        },
    },
    "/owntracks": {
        "post": {
            "tags": ["phones"],
            "summary": "OwnTracks HTTP mode: a `location` message",
            "description": "Basic auth: user = device id, password = device token. Answers `[]` (OwnTracks "
            "expects a JSON array). Other message types are taken and ignored.",
            "security": [{"basic": []}],
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {"type": "object"},
                        "example": {"_type": "location", "lat": 52.52, "lon": 13.405, "tst": 1767261600, "acc": 8},
                    }
                }
            },
            "responses": {
                "200": {"description": "taken (`[]`)"},
                "401": {"description": "unknown device or wrong token", "content": _PROBLEM},
                "503": {"description": "the broker is away: retry after Retry-After", "content": _PROBLEM},
            },
        }
    },
    "/api/v1/ws/positions": {
        "get": {
            "tags": ["streams"],
            "summary": "WebSocket: the live positions (the same events as /api/v1/stream/positions)",
            "description": "Upgrade to a WebSocket (`ws://` or `wss://`). Staff only: the browser session (the "
            "`Origin` must be this site) or `Authorization: Bearer <API token>`. Each message is one JSON event: "
            "`position` {driver_id, lat, lng, ts, speed_mps, heading, status} or `status` {driver_id, status}. "
            "Closed with 1008 when refused.",
            "parameters": [
                {
                    "name": "bbox",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "west,south,east,north: only positions inside",
                },
                {
                    "name": "driver_id",
                    "in": "query",
                    "schema": {"type": "integer"},
                    "description": "only this driver",
                },
            ],
            "responses": {"101": {"description": "switching protocols: the stream follows"}},
        }
    },
}


# Files a route answers with, by the path's suffix.
FILE_TYPES = {".csv": "text/csv", ".geojson": "application/geo+json"}


class HexfleetOpenAPI(OpenAPIProvider):
    def schema(self) -> dict[str, Any]:
        schema = super().schema()
        for path, item in EXTRA_PATHS.items():
            schema["paths"].setdefault(path, {}).update(item)
        for path, item in schema["paths"].items():
            for operation in item.values():
                answers = operation.get("responses", {})
                # "No content" documented with a body-less model: no body at all.
                for no_content in (204, "204"):  # quart-schema keys by int, the JSON by string
                    answers.get(no_content, {}).pop("content", None)
                # Files documented with a (body-less) model: say what they are, not an empty JSON object.
                media = next((m for suffix, m in FILE_TYPES.items() if path.endswith(suffix)), None)
                ok = answers.get(200) or answers.get("200") or {}
                if media is not None and "content" in ok:
                    headers = ok["content"].pop("headers", None)  # quart-schema puts them there
                    ok["content"] = {media: {"schema": {"type": "string" if media == "text/csv" else "object"}}}
                    if headers:
                        ok["headers"] = headers
        schema["info"]["description"] = DESCRIPTION
        schemes = schema["components"].setdefault("securitySchemes", {})
        schemes.setdefault("basic", {"type": "http", "scheme": "basic"})
        return schema
