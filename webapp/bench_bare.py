"""The bare ceiling: the least an ingest server on this stack can do per request.

Raw ASGI under the same uvicorn flags as the real web app: read the body, parse it with
orjson, produce it to the same topic with a per-driver key through a producer configured
exactly like the real one (``streaming.kafka.make_producer``: idempotent, acks=all, same
linger), wait for the broker's ack, answer 202. No authentication, validation, dedup,
metrics or fan-out consumer: what the real server costs beyond this is its own code.

Run by ``hexfleet bench`` as ``uvicorn webapp.bench_bare:app``. It is a server module,
so it lives in webapp/ and may import ``streaming``; the CLI never imports it.
"""

from __future__ import annotations

import hashlib

import orjson

from hexfleet.settings import Settings
from streaming.kafka import ensure_topic, make_producer

_JSON = [(b"content-type", b"application/json")]


async def _lifespan(scope, receive, send) -> None:
    state = scope["state"]
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                settings = Settings.from_env()
                await ensure_topic(settings)
                producer = make_producer(settings)
                await producer.start()
                state["producer"] = producer
                state["topic"] = settings.kafka_topic_locations
            except Exception as error:
                await send({"type": "lifespan.startup.failed", "message": repr(error)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            producer = state.pop("producer", None)
            if producer is not None:
                await producer.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _respond(send, status: int, body: bytes) -> None:
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        return await _lifespan(scope, receive, send)
    if scope["type"] != "http":
        return None
    state = scope["state"]
    if scope["method"] == "GET":
        return await _respond(send, 200 if "producer" in state else 503, b'{"status":"ready"}')
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return await _respond(send, 400, b'{"error":"malformed-json"}')
    count = len(decoded["pings"]) if isinstance(decoded, dict) and "pings" in decoded else 1
    # The real server keys by driver id after a token lookup; a digest of the token is
    # the same one-key-per-driver spread without the lookup.
    token = dict(scope["headers"]).get(b"authorization", b"")
    key = hashlib.sha256(token).hexdigest()[:8].encode()
    future = await state["producer"].send(state["topic"], body, key=key)
    await future
    return await _respond(send, 202, b'{"accepted":%d,"duplicates":0,"rejected":[]}' % count)
