"""problem+json (RFC 9457) bodies, shared by the Quart handlers and the raw ASGI ingest path."""

from __future__ import annotations

import orjson
from pydantic import BaseModel, ConfigDict

CONTENT_TYPE = b"application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem_body(status: int, detail: str, code: str | None = None, **extra) -> bytes:
    body = {
        "type": f"https://hexfleet.dev/problems/{code or status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return orjson.dumps(body)


class Problem(BaseModel):
    """An error, as /docs shows it (``@document_response(Problem, 404)``): the body above."""

    model_config = ConfigDict(extra="allow")  # more members on some (current_status, retry_after)

    type: str
    title: str
    status: int
    detail: str
