"""Hostile HTTP input for tests/webapp/test_hostile_inputs.py: a raw ASGI client, libraries of
hostile values, and body models that turn into requests (enumerated, or drawn by hypothesis).

Why a raw ASGI client and not httpx: httpx refuses or normalises much of what a hostile client
sends (header bytes outside ASCII, invalid percent-encoding, a body that disagrees with its
content type), and it waits for the end of a response, which a live stream never reaches. Here
the app gets the ASGI messages uvicorn would give it for the same bytes on the wire, a stream is
left after its first bytes, and a WebSocket gets its handshake.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote_from_bytes, unquote

from hypothesis import strategies as st

# ---------------------------------------------------------------- requests and the ASGI client


@dataclass(frozen=True)
class Req:
    method: str
    path: str  # as on the request line: ASCII, percent-encoded
    query: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    websocket: bool = False
    label: str = ""  # which case made it, for the failure message

    def __post_init__(self) -> None:
        # uvicorn (httptools and h11 alike) answers 400 itself to a request line with bytes
        # outside printable ASCII: such a path or query never reaches the app.
        assert _PRINTABLE.issuperset(self.path) and self.path.startswith("/"), self.path
        assert _PRINTABLE.issuperset(self.query.decode("latin-1")), self.query
        for name, value in self.headers:  # header values may carry obs-text (0x80-0xFF), never controls
            assert name == name.lower() and not any((b < 0x20 and b != 0x09) or b == 0x7F for b in value), value

    def __str__(self) -> str:
        """The input, short enough to read and exact enough to replay."""
        target = self.path + ("?" + _clip(self.query) if self.query else "")
        heads = ", ".join(f"{k.decode()}: {_clip(v)}" for k, v in self.headers)
        kind = "WEBSOCKET " if self.websocket else ""
        return f"[{self.label}] {kind}{self.method} {target} {{{heads}}} body={_clip(self.body)}"


_PRINTABLE = frozenset(chr(c) for c in range(0x21, 0x7F)) - {"#"}


def _clip(data: bytes, keep: int = 160) -> str:
    text = repr(data[:keep])[2:-1]
    return text + (f"...(+{len(data) - keep} bytes)" if len(data) > keep else "")


@dataclass
class Res:
    status: int | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    error: BaseException | None = None  # what the app raised instead of answering


# A request body arrives in pieces this large (as a server hands it on).
CHUNK = 65_536


def _scope(req: Req, kind: str) -> dict:
    headers = [(b"host", b"test"), *req.headers]
    if not req.websocket and (req.body or req.method in ("POST", "PUT", "PATCH")):
        if not any(name == b"transfer-encoding" for name, _ in req.headers):
            headers.append((b"content-length", str(len(req.body)).encode()))
    return {
        "type": kind,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": req.method,
        "scheme": "ws" if req.websocket else "http",
        # What uvicorn does with the request line: the raw path as sent, and its percent-decoding.
        "path": unquote(req.path),
        "raw_path": req.path.encode("ascii"),
        "query_string": req.query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50_000),
        "server": ("127.0.0.1", 80),
        "extensions": {"websocket.http.response": {}} if req.websocket else {},
        **({"subprotocols": []} if req.websocket else {}),
    }


async def call(app, req: Req, timeout: float = 20.0) -> Res:
    """Send one request to the ASGI app; a stream is cut (the client leaves) after its first bytes."""
    if req.websocket:
        return await _call_websocket(app, req, timeout)
    res = Res()
    gone = asyncio.Event()  # the client disconnects: after the answer, or once a stream started
    answered = asyncio.Event()
    pieces = [req.body[i : i + CHUNK] for i in range(0, len(req.body), CHUNK)] or [b""]

    async def receive() -> dict:
        if pieces:
            body = pieces.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(pieces)}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            res.status = message["status"]
            res.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            res.body += message.get("body", b"")
            if not message.get("more_body") or res.body:
                answered.set()  # the whole answer, or the first bytes of a stream

    task = asyncio.create_task(app(_scope(req, "http"), receive, send))
    waiting = asyncio.create_task(answered.wait())
    await asyncio.wait({task, waiting}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    gone.set()
    await _finish(task, res, timeout)
    if res.status is None and res.error is None:
        res.error = TimeoutError(f"no answer within {timeout:g} s")
    return res


async def _finish(task: asyncio.Task, res: Res, timeout: float) -> None:
    """Let the app notice the client left; cancel it when it does not end by itself."""
    done, _ = await asyncio.wait({task}, timeout=min(timeout, 5.0))
    if not done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return
    error = task.exception()
    if error is not None:
        res.error = error


async def _call_websocket(app, req: Req, timeout: float) -> Res:
    """The handshake: 101 when the app accepts, 403 when it closes first (ASGI's denial), or
    the status of the HTTP answer it sends instead."""
    res = Res()
    connected = False
    gone = asyncio.Event()
    settled = asyncio.Event()

    async def receive() -> dict:
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        await gone.wait()
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            res.status = 101
            settled.set()
        elif kind == "websocket.close":
            if res.status is None:
                res.status = 403
            res.body = str(message.get("reason", "")).encode()
            settled.set()
        elif kind == "websocket.http.response.start":
            res.status = message["status"]
            res.headers = list(message.get("headers", []))
        elif kind == "websocket.http.response.body":
            res.body += message.get("body", b"")
            if not message.get("more_body"):
                settled.set()

    task = asyncio.create_task(app(_scope(req, "websocket"), receive, send))
    waiting = asyncio.create_task(settled.wait())
    await asyncio.wait({task, waiting}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    gone.set()
    await _finish(task, res, timeout)
    if res.status is None and res.error is None:
        res.error = TimeoutError(f"no handshake within {timeout:g} s")
    return res


# ---------------------------------------------------------------- hostile values

# Path segments, as sent (percent-encoded): ids PostgreSQL cannot hold, signs, exponents,
# digits int() reads but the route should not (²), other scripts' digits, NUL, invalid UTF-8.
HOSTILE_IDS = (
    "9223372036854775808", "9223372036854775807", "9" * 40, "-1", "0", "00", "007", "1e5", "1.5", "+1",
    "%201", "0x10", "1_000", "%C2%B2", "%EF%BC%91", "%D9%A1%D9%A2", "abc", "%00", "1%00", "%FF%FE",
    "%E2%80%AE1", "-0", "%2e%2e", "1,2", "",
)  # fmt: skip

# Path segments that stand for a token or a name.
HOSTILE_TOKENS = (
    "x", "A" * 4000, "%00", "a%00b", "%FF%FE", "%F0%9F%98%80" * 10, "%2E%2E", "..", "%2F", "%5C",
    "%0D%0ASet-Cookie:%20a=b", "'%20OR%201=1--", "null", "%25", "eyJhbGciOiJub25lIn0.e30.", "~",
    "%C0%AF", "%ED%A0%80", "a.b.c", "%20",
)  # fmt: skip

# Static file names: escapes from the folder, NUL, absurd lengths.
HOSTILE_FILES = (
    "../pyproject.toml", "..%2F..%2Fpyproject.toml", "%2e%2e/%2e%2e/README.md", "css/..%2F..%2Fwebapp/app.py",
    "%00", "css/%00.css", "A" * 3000, "%FF", "css/", "%2Fetc%2Fpasswd", "vendor/%E2%80%AE", "..",
)  # fmt: skip

# Times for the strings below: years ahead of now (no clock reaches it during a run), and the
# first and last moments a datetime can hold, with the most extreme offsets.
FAR_AHEAD = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 4 * 365 * 86_400))
FIRST_MOMENT = datetime.min.isoformat() + "-23:59"
LAST_MOMENT = datetime.max.replace(microsecond=0).isoformat() + "+23:59"

# Text: NUL, lone surrogates (invalid UTF-8 once encoded), bidi and case-mapping oddities,
# injection classics, numbers in disguise, and long strings.
HOSTILE_STRINGS = (
    "", " ", "\x00", "a\x00b", "\t\r\n", "\ud800", "\udfff\ud800x", "\ufeff", "\u202e\u0645", "😀" * 50,
    "İıſK", "ǅ", "'; DROP TABLE users; --", "<script>alert(1)</script>", "{{ 7 * 7 }}", "${jndi:ldap://x}",
    "%s%s%n", "../../etc/passwd", "null", "true", "[]", "{}", "NaN", "-Infinity", "1e309", "-1", "0",
    "9223372036854775808", "1" * 400, "0x1F", "١٢٣", "²", "A" * 10_000, "\\", '"', "%", "%zz", "&=?#",
    "1.5", " 52.5 ", FAR_AHEAD, FIRST_MOMENT, LAST_MOMENT,
)  # fmt: skip

# Fewer of them, for the long enumerations.
SOME_STRINGS = ("", "\x00", "\ud800", "😀" * 50, "9223372036854775808", "A" * 10_000, "%zz", "-1", "NaN")


def deep(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(levels):
        value = {"a": value} if levels % 2 else [value]
    return value


# The wrong JSON type (or an absurd value) in a field.
WRONG_VALUES: tuple[Any, ...] = (
    None, True, 0, -1, 1.5, 2**64, -(2**63) - 1, 10**30, 1e308, float("nan"), "", "x", "\x00", "9" * 400,
    [], [1, 2], {}, {"a": {"b": {}}}, deep(900), "A" * 200_000,
)  # fmt: skip

# Whole bodies: not JSON, not UTF-8, NUL bytes, nesting past any limit, larger than MAX_BODY_BYTES.
RAW_BODIES = (
    b"", b" ", b"\x00", b"\x00" * 100, b"{", b"}", b"[", b"null", b"true", b"0", b'""', b"[]", b"{}",
    b'{"a":1,}', b"{'a': 1}", b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b'{"a": "\xff"}', b"\xc0\xaf",
    b"\xed\xa0\x80", b'{"a": "\\ud800"}', b"NaN", b"Infinity", b"1e400", b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 1100 + b"1" + b"}" * 1100, b'{"a":' * 1000 + b"1" + b"}" * 1000, b'"' + b"A" * 300_000 + b'"',
    b"x" * 300_000, b'{"a": "\x00\x00"}', b"a=1&b=2", b"--x\r\n", b"%FF=%FF", b"\x1f\x8b\x08\x00",
)  # fmt: skip

CONTENT_TYPES = (
    None, "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16",
    "application/json; charset=bogus", "text/plain", "text/html", "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=bogus", "multipart/form-data", "multipart/form-data; boundary=",
    "multipart/form-data; boundary=xyz", "multipart/form-data; boundary=" + "b" * 200, "application/problem+json",
    "application/vnd.api+json", "application/octet-stream", "*/*", "", "application/json\t;;;=", "x/\x80\xff",
)  # fmt: skip

# Broken multipart bodies (content type, body).
BROKEN_MULTIPART = (
    ("multipart/form-data; boundary=hx", b'--hx\r\nContent-Disposition: form-data; name="a"\r\n\r\nb'),
    ("multipart/form-data; boundary=hx", b"--hx--"),
    ("multipart/form-data; boundary=hx", b"garbage"),
    ("multipart/form-data; boundary=hx", b"--hx\r\n\r\n\r\n--hx--\r\n"),
    ("multipart/form-data; boundary=hx", b"--hx\r\nContent-Disposition: form-data\r\n\r\nx\r\n--hx--\r\n"),
    (
        "multipart/form-data; boundary=hx",
        b'--hx\r\nContent-Disposition: form-data; name="f"; filename="../../x"\r\nContent-Type: text/plain\r\n\r\n'
        + b"x" * 1000
        + b"\r\n--hx--\r\n",
    ),
    (
        "multipart/form-data; boundary=hx",
        b'--hx\r\nContent-Disposition: form-data; name="\xff"\r\n\r\n\xff\r\n--hx--\r\n',
    ),
    ("multipart/form-data; boundary=hx", b"--hx\r\nX-A: " + b"a" * 70_000 + b"\r\n\r\n--hx--\r\n"),
    ("multipart/form-data", b"--hx\r\n\r\n--hx--\r\n"),
    ('multipart/form-data; boundary=""', b"--\r\n\r\n----\r\n"),
    ("multipart/form-data; boundary=hx", b'--hx\r\nContent-Disposition: form-data; name="a"\r\n\r\n' + b"\x00" * 50),
    ("multipart/mixed; boundary=hx", b'--hx\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--hx--\r\n'),
)

# Authorization headers that are not what they claim to be (values are raw header bytes).
MALFORMED_AUTH: tuple[bytes, ...] = (
    b"", b"Bearer", b"Bearer ", b"Bearer    ", b"bearer x", b"Bearer null", b"Bearer " + b"A" * 5000,
    b"Bearer \x80\xff\xfe", b"Bearer a b c", b"Basic", b"Basic !!!", b"Basic " + base64.b64encode(b"nocolon"),
    b"Basic " + base64.b64encode(b":"), b"Basic " + base64.b64encode(b"\x00:\x00"),
    b"Basic " + base64.b64encode(b"\xff\xfe:\xff"), b"Basic " + base64.b64encode(b"a" * 3000 + b":b"),
    b"Token abc", b"Digest username=x", b"Bearer\tabc", b"BEARER " + b"9" * 64,
)  # fmt: skip

# Cookies a browser never had from us.
MALFORMED_COOKIES: tuple[bytes, ...] = (
    b"hexfleet_session=garbage", b"hexfleet_session=" + b"A" * 3000, b"hexfleet_driver=garbage",
    b"hexfleet_driver=eyJkIjoxLCJ2IjoieCJ9.AAAA.BBBB", b"hexfleet_csrf=" + b"x" * 3000, b"hexfleet_csrf=\x80\xff",
    b"=; ;;; =x", b"hexfleet_session=1; hexfleet_session=2", b'hexfleet_driver="\\"\\x00"',
)  # fmt: skip

# Headers that change how an answer is chosen, or who a request claims to come from; in
# groups that one request can carry together.
ODD_HEADER_GROUPS: tuple[tuple[tuple[bytes, bytes], ...], ...] = (
    (
        (b"accept", b"application/json"), (b"hx-request", b"true"), (b"origin", b"https://evil.example"),
        (b"x-forwarded-for", b"1.2.3.4, ::1"), (b"accept-language", b"\xff" * 100), (b"content-encoding", b"gzip"),
        (b"range", b"bytes=99999999999999999999-"), (b"if-modified-since", b"Thu, 01 Jan 1970 00:00:00 GMT"),
    ),
    (
        (b"accept", b"text/html"), (b"origin", b"null"), (b"sec-fetch-site", b"cross-site"),
        (b"upgrade", b"websocket"), (b"x-csrf-token", b"0" * 64), (b"transfer-encoding", b"chunked"),
        (b"expect", b"100-continue"), (b"user-agent", b"\x80" * 300),
    ),
    (
        (b"accept", b"*/*;q=\xff"), (b"origin", b"http://test"), (b"hx-request", b"\xff"),
        (b"accept-language", b"en-US,en;q=0.5,*;q=0.1"), (b"x-requested-with", b"XMLHttpRequest"),
    ),
)  # fmt: skip
ODD_HEADERS = tuple(header for group in ODD_HEADER_GROUPS for header in group)


# ---------------------------------------------------------------- encoding


def encode_text(text: str) -> bytes:
    """UTF-8, keeping lone surrogates as the invalid bytes a hostile client would send."""
    return text.encode("utf-8", "surrogatepass")


def encode_json(value: Any, ascii_only: bool = False) -> bytes:
    """JSON as the stdlib writes it: NaN and huge integers included, surrogates kept raw (invalid
    UTF-8) or escaped (which a strict parser refuses too)."""
    return encode_text(json.dumps(value, ensure_ascii=ascii_only, allow_nan=True))


def encode_form(fields: dict[str, Any] | list[tuple[str, Any]]) -> bytes:
    items = fields.items() if isinstance(fields, dict) else fields
    return b"&".join(
        quote_from_bytes(encode_text(str(k))).encode() + b"=" + quote_from_bytes(encode_text(str(v))).encode()
        for k, v in items
    )


def encode_multipart(fields: dict[str, Any], boundary: bytes = b"hexfleet-boundary") -> bytes:
    out = b""
    for name, value in fields.items():
        out += b"--" + boundary + b"\r\n"
        out += b'Content-Disposition: form-data; name="' + encode_text(name).replace(b'"', b"") + b'"\r\n\r\n'
        out += encode_text(str(value)) + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


def encode_query(fields: dict[str, Any] | list[tuple[str, Any]]) -> bytes:
    return encode_form(fields)


def path_text(text: str) -> str:
    """A value for a path segment, percent-encoded as a client puts it on the request line."""
    return quote_from_bytes(encode_text(text), safe="")


# ---------------------------------------------------------------- body models

# A body model: field name -> Field. A field's kind names its valid values (``valid_values``)
# or is a nested model.


@dataclass(frozen=True)
class Field:
    kind: str | dict
    required: bool = True


def now_iso(offset_s: float = 0.0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_s))


def valid_values(kind: str, world) -> list[Any]:
    """Values of this kind the app accepts (the first is the one systematic cases use)."""
    now = time.time()
    table: dict[str, list[Any]] = {
        "lat": [52.52, -89.9, 90, 52.5200001],
        "lng": [13.405, 179.99, -180, 13.4050001],
        "lat2": [52.53, 52.6],
        "lng2": [13.43, 13.5],
        "ts": [now - 1, now_iso(-5), int(now) - 30, now_iso(-60).replace("Z", "+00:00")],
        "number": [1.5, 0, 12, 359.9],
        "percent": [55, 0, 100, 99.5],
        "ping_id": ["p-1", 7, "a" * 64],
        "text": ["Running late", "", "Ünïcødé ✓"],
        "name": ["Rita", "Ada Lovelace"],
        "phone": ["+49 30 5550101", "555"],
        "duty": ["available", "off_duty", "busy"],
        "self_duty": ["available", "off_duty"],
        "currency": ["EUR", "JPY", "BHD", "USD"],
        "minor": [250, 0, 10_000_000],
        "vehicle_class": ["standard", "comfort", "xl", "van"],
        "later": [now_iso(3600), now_iso(86_400).replace("Z", "+02:00")],
        "quote_id": [*world.quote_ids, 1],
        "driver_id": [*world.ids["driver_id"], 1],
        "device_id": [world.device_id],
        "osmand_ts": [int(now), int(now * 1000), now_iso(-2), time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))],
        "epoch": [int(now) - 2, now - 1],
        "flag": ["true", "false", "1", "0"],
        "bool": [True, False],
        "level": [0.5, 1, 0, -1],
        "bbox": ["13.3,52.4,13.5,52.6", "-180,-90,180,90"],
        "statuses": ["searching,offered", "completed", "no_driver"],
        "cursor": ["100", "1"],
        "limit": ["10", "1", "200"],
        "minutes": ["10", "0.5", "1440"],
        "radius": ["2000", "1", "20000"],
        "id_text": [str(world.ids["driver_id"][0]), "#1", "1"],
        "booking_id_text": [str(world.ids["booking_id"][0])],
        "query": ["Alexanderplatz", "Ber", ""],
        "email": ["nobody@example.org", world.emails["dispatcher"], world.emails["customer"]],
        "password": ["correct-horse", "wrong-password"],
        "new_email": [f"new-{time.monotonic_ns()}@example.org", "new@example"],
        "next": [
            "/",
            "/ride",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "//[",
            "/\\[::1",
            "http://[",
        ],
        "when": ["now", "later"],
        "local_time": [now_iso(3600)[:16], now_iso(40 * 86_400)[:16]],  # in an hour; past the 30-day window
        "owntracks_type": ["location", "transition", "waypoint", "lwt"],
        "tid": ["ab", "x"],
        "uuid": ["7f1a2b3c-uuid"],
        "reason": ["Plans changed", "", "Waiting too long"],
        "csrf": [world.csrf_token],
        "latlng_text": ["52.52,13.405", "52.52", "a,b,c"],
        "bs": [2, 1, 0, 3],
        "done": ["password", "password-kept", "others", "revoked", "x"],
        "token_days": ["90", "7", "365", "1000", "0"],
        "token_label": ["reporting script", "", "Ünïcødé ✓"],
        "keep": ["yes", "", "no"],
        "regions": [["home", "work"], []],
        "plate": [f"B-H-{time.monotonic_ns() % 100_000}", ""],
        "staff_role": ["dispatcher", "admin"],
        "show": ["all", ""],
        "role_filter": ["staff", "customer", "all", "dispatcher"],
        "amount": ["2.50", "0", "100000"],
        "since": [now_iso(-3600), now_iso(-86_400).replace("Z", "+02:00"), now_iso(-7 * 86_400 + 60)],
        "until": [now_iso(), now_iso(-60).replace("Z", "-05:30")],
        "local_from": [now_iso(-7200)[:16], now_iso(-86_400)[:16]],
        "local_to": [now_iso()[:16], now_iso(-3600)[:16]],
        "zone": ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires"],
        "label": ["Alexanderplatz, 60 m", "", "Hotel Adlon, Unter den Linden 77"],
        "place_name": [f"Hostile Place {time.monotonic_ns()}", "Alexanderplatz", "Ünïcødé ✓ Halle"],
        "category": ["hotel", "depot", "other"],
        "address": ["Unter den Linden 77, 10117 Berlin", ""],
        "aliases_list": [["Alex", "Mitte"], []],
        "aliases_text": ["Alex\nMitte", "", "a|b"],
        "on": ["on", ""],
        "page": ["1", "2", "99", "999999"],
        "series_metric": ["requests", "pickup_wait_p90", "revenue", "utilisation"],
        "cell_metric": ["demand", "unmet", "supply", "utilisation", "surge"],
        "bucket": ["day", "hour"],
        "how": ["8", "0", "167"],
        "weeks": ["4", "1", "12"],
        "alert_states": ["open", "acknowledged,resolved", "resolved", "closed"],
        "note": ["Called the rider", "", "Ünïcødé ✓ " * 40],
        "zone_name": [f"Hostile Zone {time.monotonic_ns()}", "Spare Zone 0", "Ünïcødé ✓ Zone"],
        "zone_kind": ["custom", "restricted", "airport", "service area"],
        "geometry": [
            {"type": "Circle", "center": [13.45, 52.45], "radius_m": 200},
            {"type": "Polygon", "coordinates": [[[13.3, 52.4], [13.31, 52.4], [13.31, 52.41], [13.3, 52.4]]]},
            {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[2, 2], [3, 2], [3, 3],
                                                                                        [2, 2]]]]},
            {"type": "Polygon", "coordinates": [[[13.3, 52.4], [13.5, 52.6], [13.5, 52.4], [13.3, 52.6],
                                                 [13.3, 52.4]]]},  # self-intersecting
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},  # not closed
            {"type": "Polygon", "coordinates": [[[i % 2, i / 10_000] for i in range(6_000)]]},  # too many vertices
            {"type": "Polygon", "coordinates": [[[1e308, -1e308], [0, 0], [1, 1], [1e308, -1e308]]]},
            {"type": "Polygon", "coordinates": [[["13.3", "52.4"], [None, 0], [[], {}], ["13.3", "52.4"]]]},
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]], [[5, 5], [6, 5], [6, 6], [5, 5]]]},
            {"type": "MultiPolygon", "coordinates": [[[[0, 0], [2, 0], [2, 2], [0, 0]]], [[[0, 0], [2, 0], [2, 2],
                                                                                        [0, 0]]]]},  # overlapping
            {"type": "Circle", "center": [13.4, 52.5], "radius_m": -5},
            {"type": "Circle", "center": [13.4, 52.5], "radius_m": 1e308},
            {"type": "Circle", "center": ["x", None], "radius_m": "far"},
            {"type": "Circle", "center": [179.99, 84.99], "radius_m": 100_000},
            {"type": "Point", "coordinates": [13.4, 52.5]},
            {"type": "GeometryCollection", "geometries": []},
            {"type": "Polygon", "coordinates": [[[0, 0]] * 3]},
            {"type": "Polygon", "coordinates": [[]]},
            {},
        ],
        "zone_rules": [
            {},
            {"pickup_fee_minor": 300, "fixed_fares": [{"to_zone_id": 101, "vehicle_class": "standard",
                                                       "amount_minor": 4500}]},
            {"fixed_fares": [{"to_zone_id": 2**63, "vehicle_class": "x", "amount_minor": -1}] * 200},
            {"fixed_fares": [{"to_zone_id": 99_999, "vehicle_class": "standard", "amount_minor": 1}]},
            {"wait_minutes": 10},
            {"allow_dropoff_outside": "maybe"},
        ],
        "color": ["#1565c0", "", "red", "#ZZZZZZ"],
        "zone_features": [
            [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.42, 52.48]},
              "properties": {"name": f"Imported Zone {time.monotonic_ns()}", "kind": "custom", "radius_m": 250}}],
            [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1],
                                                                                [0, 0]]]},
              "properties": {"name": "Bow tie", "kind": "custom",
                             "rules": {"fixed_fares": [{"to_zone": "Nowhere", "vehicle_class": "van",
                                                        "amount_minor": 1}]}}}],
            [],
        ],
        "fc_type": ["FeatureCollection"],
        "features": [
            [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.4132, 52.5219]},
              "properties": {"name": "Alexanderplatz", "category": "landmark", "aliases": ["Alex"]}}],
            [],
        ],
    }  # fmt: skip
    return table[kind]


def example(model: dict, world) -> dict:
    """A body the app accepts: every field's first valid value, optional fields included."""
    return {
        name: example(f.kind, world) if isinstance(f.kind, dict) else valid_values(f.kind, world)[0]
        for name, f in model.items()
    }


# ---------------------------------------------------------------- enumerated body cases


# Each field gets these; every value of WRONG_VALUES and HOSTILE_STRINGS also goes into all
# fields at once (the enumeration stays linear in the number of fields).
FIELD_WRONG: tuple[Any, ...] = (None, True, -1, 2**64, 1e308, "x", [], {"a": 1}, deep(900), "A" * 200_000)


def _share(values: tuple, half: int | None) -> tuple:
    """All of them, or every other one (routes that share a parser take turns)."""
    return values if half is None else values[half::2]


def json_cases(model: dict, world, half: int | None = None) -> list[tuple[str, bytes, str | None]]:
    """(label, body, content type) for a JSON body: each field missing, of the wrong type, and
    hostile as text; extra fields; the whole body replaced; the valid body as other types.
    ``half`` (0 or 1) sends half of the whole-body cases, for routes whose parser others share."""
    ok = example(model, world)
    cases: list[tuple[str, Any]] = [("valid", ok)]
    for name, f in model.items():
        cases.append((f"missing {name}", {k: v for k, v in ok.items() if k != name}))
        for wrong in (*FIELD_WRONG, *SOME_STRINGS):
            cases.append((f"{name}={_short(wrong)}", {**ok, name: wrong}))
        if isinstance(f.kind, dict):
            sub = ok[name]
            for inner in f.kind:
                cases.append((f"missing {name}.{inner}", {**ok, name: {k: v for k, v in sub.items() if k != inner}}))
                for wrong in (None, "x", [], {}, 1e308, 2**64, "\x00", "\ud800"):
                    cases.append((f"{name}.{inner}={_short(wrong)}", {**ok, name: {**sub, inner: wrong}}))
    for wrong in _share((*WRONG_VALUES, *HOSTILE_STRINGS), half):
        cases.append((f"every field={_short(wrong)}", dict.fromkeys(ok, wrong)))
    cases += [
        ("extra fields", {**ok, "extra": 1, "__proto__": {"admin": True}, "constructor": None}),
        ("a huge extra key", {**ok, "k" * 100_000: 1}),
        ("a NUL key", {**ok, "\x00": "\x00"}),
        ("a list of the body", [ok]),
        ("a string", "body"),
        ("a number", 1),
        ("null", None),
    ]
    out = [(label, encode_json(value), "application/json") for label, value in cases]
    out.append(("surrogates escaped", encode_json({k: "\ud800" for k in ok}, ascii_only=True), "application/json"))
    out += [(f"raw {_clip(raw, 24)}", raw, "application/json") for raw in _share(RAW_BODIES, half)]
    out += [(f"valid body as {ctype!r}", encode_json(ok), ctype) for ctype in _share(CONTENT_TYPES, half)]
    out.append(("valid fields as a form", encode_form(ok), FORM))
    return out


FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=hexfleet-boundary"


def form_cases(model: dict, world, half: int | None = None) -> list[tuple[str, bytes, str | None]]:
    """(label, body, content type) for a form: each field missing and hostile; repeated fields,
    invalid percent-encoding, broken multipart, JSON instead (``half`` as for ``json_cases``)."""
    ok = {name: valid_values(f.kind, world)[0] for name, f in model.items()}
    out: list[tuple[str, bytes, str | None]] = [("valid", encode_form(ok), FORM)]
    for name in model:
        out.append((f"missing {name}", encode_form({k: v for k, v in ok.items() if k != name}), FORM))
        for value in (*SOME_STRINGS, *valid_values(model[name].kind, world)[1:]):
            out.append((f"{name}={_short(value)}", encode_form({**ok, name: value}), FORM))
        out.append((f"{name} twice", encode_form([*ok.items(), (name, "second")]), FORM))
    for text in _share(HOSTILE_STRINGS, half):
        keep = {k: v for k, v in ok.items() if k == "csrf_token"}  # past the CSRF check, into the view
        out.append((f"every field={_short(text)}", encode_form({**dict.fromkeys(ok, text), **keep}), FORM))
    out += [
        ("every field huge", encode_form(dict.fromkeys(ok, "A" * 20_000)), FORM),
        ("invalid percent-encoding", b"&".join(k.encode() + b"=%zz%F%" for k in ok), FORM),
        ("invalid UTF-8", b"&".join(k.encode() + b"=%FF%FE%ED%A0%80" for k in ok), FORM),
        ("raw bytes", b"&".join(k.encode() + b"=\xff\x00\x80" for k in ok), FORM),
        ("no values", b"&".join(k.encode() for k in ok), FORM),
        ("only separators", b"&&&===&", FORM),
        ("over the body limit", b"a=" + b"A" * 300_000, FORM),
        ("many fields", b"&".join(b"f%d=1" % i for i in range(20_000)), FORM),
        ("multipart", encode_multipart(ok), MULTIPART),
        ("multipart, hostile", encode_multipart({k: "\ud800\x00" for k in ok}), MULTIPART),
        ("json instead", encode_json(ok), "application/json"),
        ("no content type", encode_form(ok), None),
        ("form with a bogus charset", encode_form(ok), FORM + "; charset=bogus"),
        ("form as utf-16", encode_form(ok), FORM + "; charset=utf-16"),
    ]
    out += [(f"broken multipart {i}", body, ctype) for i, (ctype, body) in enumerate(_share(BROKEN_MULTIPART, half))]
    out += [(f"raw {_clip(raw, 24)}", raw, FORM) for raw in RAW_BODIES[::3]]
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + f"...({len(text)})"


# ---------------------------------------------------------------- hypothesis strategies

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and infinities too: the stdlib writes them, strict parsers refuse them
    st.text(max_size=40),
    st.sampled_from(HOSTILE_STRINGS),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
hostile_text = st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=60))


def valid_value(kind: str | dict, world) -> st.SearchStrategy:
    if isinstance(kind, dict):
        return mutated(kind, world)
    return st.sampled_from(valid_values(kind, world))


@st.composite
def mutated(draw, model: dict, world) -> dict:
    """A body close to valid: most fields valid, some missing, of the wrong type, hostile text."""
    body: dict = {}
    for name, f in model.items():
        choice = draw(st.integers(0, 9))
        if choice <= 5:
            body[name] = draw(valid_value(f.kind, world))
        elif choice == 6:
            continue  # missing
        elif choice == 7:
            body[name] = draw(json_values)
        elif choice == 8:
            body[name] = draw(hostile_text)
        else:
            body[name] = draw(st.sampled_from(WRONG_VALUES))
    if draw(st.integers(0, 9)) == 0:
        body.update(draw(st.dictionaries(st.text(max_size=12), json_values, max_size=3)))
    return body


@st.composite
def json_body(draw, model: dict, world) -> tuple[bytes, str | None]:
    choice = draw(st.integers(0, 19))
    if choice < 13:
        value = draw(mutated(model, world))
    elif choice < 16:
        value = draw(json_values)
    elif choice < 18:
        return draw(st.sampled_from(RAW_BODIES)), "application/json"
    else:
        return draw(st.binary(max_size=200)), draw(st.sampled_from(CONTENT_TYPES))
    body = encode_json(value, ascii_only=draw(st.booleans()))
    ctype = "application/json" if draw(st.integers(0, 9)) < 8 else draw(st.sampled_from(CONTENT_TYPES))
    return body, ctype


@st.composite
def form_body(draw, model: dict, world) -> tuple[bytes, str | None]:
    values: list[tuple[str, Any]] = []
    for name, f in model.items():
        choice = draw(st.integers(0, 9))
        if choice <= 4:
            values.append((name, draw(st.sampled_from(valid_values(f.kind, world)))))
        elif choice <= 7:
            values.append((name, draw(hostile_text)))
        elif choice == 8:
            values.append((name, draw(st.sampled_from(valid_values(f.kind, world)))))
            values.append((name, draw(hostile_text)))  # the field twice
    if draw(st.integers(0, 9)) == 0:
        values += draw(st.lists(st.tuples(hostile_text, hostile_text), max_size=3))
    choice = draw(st.integers(0, 19))
    if choice < 14:
        return encode_form(values), FORM
    if choice < 16:
        return encode_multipart(dict(values)), MULTIPART
    if choice < 18:
        ctype, body = draw(st.sampled_from(BROKEN_MULTIPART))
        return body, ctype
    return draw(st.sampled_from(RAW_BODIES)), draw(st.sampled_from(CONTENT_TYPES))


@st.composite
def junk_body(draw) -> tuple[bytes, str | None]:
    """For routes without a body: mostly none, sometimes something."""
    choice = draw(st.integers(0, 9))
    if choice < 6:
        return b"", None
    if choice < 8:
        return draw(st.sampled_from(RAW_BODIES)), draw(st.sampled_from(CONTENT_TYPES))
    ctype, body = draw(st.sampled_from(BROKEN_MULTIPART))
    return body, ctype


@st.composite
def query_string(draw, model: dict, world) -> bytes:
    values: list[tuple[str, Any]] = []
    for name, f in model.items():
        choice = draw(st.integers(0, 9))
        if choice <= 4:
            values.append((name, draw(st.sampled_from(valid_values(f.kind, world)))))
        elif choice <= 7:
            values.append((name, draw(hostile_text)))
        elif choice == 8:
            values.append((name, draw(st.sampled_from(HOSTILE_IDS))))
    if draw(st.integers(0, 4)) == 0:
        values += draw(st.lists(st.tuples(hostile_text, hostile_text), max_size=3))
    raw = encode_query(values)
    if draw(st.integers(0, 9)) == 0:
        raw += draw(st.sampled_from((b"&%zz=%", b"&a=%FF%FE", b"&&&", b"&=", b"&%00=%00", b"&x=" + b"A" * 8000)))
    return raw
