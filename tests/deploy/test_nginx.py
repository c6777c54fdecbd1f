"""deploy/nginx.conf in front of the real web app.

The shipped file is read with a small parser of nginx's syntax and checked for what the app
relies on (its limits, unbuffered streams, WebSocket upgrade, forwarding headers), and
`nginx -t` validates it as shipped (TLS included, with a throw-away certificate). Then a
test copy (plain HTTP on a free port, the upstream pointed at a real web process, paths in
a temporary folder) runs in front of the app, and the tests check through it: a live
position reaches an SSE stream and a WebSocket at once, the other streams open at once,
the app counts limits against the real client address (FORWARDED_ALLOW_IPS) and cannot be
fooled by a client's own X-Forwarded-For, oversized bodies stop at the proxy, static files
are compressed and cached, and secret tokens in paths and OsmAnd device ids in query
strings stay out of the access log.

The test copy ignores the app's ``X-Accel-Buffering: no``, so what reaches the client at
once does so by the config alone. (Measured with nginx 1.22: it passes a stream's chunks on
as they come even with proxy_buffering on; what held events back was compression. The static
check requires proxy_buffering off all the same: see the comment in the config.) nginx comes
from `make nginx` (`make test` runs it).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import orjson
import pytest
from helpers import make_driver, make_fare, make_user, start_web, wait_for

from hexfleet.devtools.embedded import port_open
from hexfleet.devtools.testing import free_port
from hexfleet.settings import ROOT, Settings
from webapp import ingest, serving
from webapp.app import large_body_limit

CONFIG = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SSE_LOCATIONS = [("/api/v1/stream/",), ("~", "^/api/v1/track/[^/]+/stream$"), ("=", "/api/v1/driver/offers/stream")]
FORWARDING = {"Host": "$http_host", "X-Forwarded-For": "$remote_addr", "X-Forwarded-Proto": "$scheme"}


# ---------------------------------------------------------------- a small nginx config parser

_TOKEN = re.compile(r"""\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[{};]|[^\s{};"'#]+""")


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]

    def one(self, name: str) -> Directive:
        found = self.all(name)
        assert len(found) == 1, f"{self.name} {' '.join(self.args)}: {len(found)} {name} directives"
        return found[0]

    def value(self, name: str) -> str:
        return " ".join(_unquote(a) for a in self.one(name).args)

    def headers(self) -> dict[str, str]:
        return {_unquote(d.args[0]): " ".join(map(_unquote, d.args[1:])) for d in self.all("proxy_set_header")}


@dataclass
class Config:
    top: Directive = field(default_factory=lambda: Directive("main", [], []))

    @property
    def http(self) -> Directive:
        return self.top.one("http")

    def server(self, port: str) -> Directive:
        return next(s for s in self.http.all("server") if any(d.args[0].endswith(port) for d in s.all("listen")))

    def location(self, server: Directive, *args: str) -> Directive:
        return next(d for d in server.all("location") if tuple(d.args) == args)


def _unquote(arg: str) -> str:
    return arg[1:-1] if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "\"'" else arg


def parse(text: str) -> Config:
    tokens = [t for t in _TOKEN.findall(text) if not t.isspace() and not t.startswith("#")]
    assert "".join(_TOKEN.findall(text)) == text, "the tokenizer skipped part of the file"

    def block(i: int) -> tuple[list[Directive], int]:
        out: list[Directive] = []
        while i < len(tokens) and tokens[i] != "}":
            words = []
            while tokens[i] not in ("{", ";", "}"):
                words.append(tokens[i])
                i += 1
            if tokens[i] == ";":
                out.append(Directive(words[0], words[1:]))
                i += 1
            elif tokens[i] == "{":
                inner, i = block(i + 1)
                assert tokens[i] == "}", "unbalanced braces"
                out.append(Directive(words[0], words[1:], inner))
                i += 1
            else:
                raise AssertionError(f"a directive without ';' before '}}': {words}")
        return out, i

    directives, end = block(0)
    assert end == len(tokens), "unbalanced braces"
    return Config(Directive("main", [], directives))


def dump(directives: list[Directive], depth: int = 0) -> str:
    pad = "    " * depth
    lines = []
    for d in directives:
        head = pad + " ".join([d.name, *d.args])
        if d.block is None:
            lines.append(head + ";")
        else:
            lines += [head + " {", dump(d.block, depth + 1), pad + "}"]
    return "\n".join(line for line in lines if line)


def seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", value).groups()  # type: ignore[union-attr]
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}[unit]


def size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmM])?", value).groups()  # type: ignore[union-attr]
    return int(number) * {"k": 1024, "K": 1024, "m": 1024**2, "M": 1024**2, None: 1}[unit]


# ---------------------------------------------------------------- the shipped file


def test_the_shipped_config_matches_what_the_app_relies_on():
    config = parse(CONFIG.read_text())
    http, tls = config.http, config.server("443")
    app = Settings.from_env({})
    assert seconds(http.value("client_header_timeout")) == serving.HEADER_TIMEOUT_S
    assert seconds(http.value("client_body_timeout")) == ingest.BODY_TIMEOUT_S
    assert size(http.value("client_max_body_size")) == app.max_body_bytes
    _, buffer = http.one("large_client_header_buffers").args
    assert size(buffer) >= serving.MAX_HEADER_BYTES  # nothing the app accepts is refused here

    zone = http.one("limit_conn_zone").args
    assert zone[0] == "$binary_remote_addr" and zone[1].startswith("zone=hexfleet_per_address:")
    assert tls.one("limit_conn").args[0] == "hexfleet_per_address"

    assert any("ssl" in d.args for d in tls.all("listen")) and tls.all("ssl_certificate")
    plain = config.server(":80")
    assert plain.all("ssl_certificate") == [] and "https://" in dump(plain.block or [])
    upstream = http.one("upstream")
    assert upstream.all("keepalive") and tls.value("proxy_http_version") == "1.1"

    # Forwarding headers: set at the server, and repeated wherever a location sets its own
    # (nginx does not merge proxy_set_header into a location that has any).
    assert tls.headers() == {**FORWARDING, "Connection": ""}
    for location in tls.all("location"):
        if location.all("proxy_set_header"):
            assert FORWARDING.items() <= location.headers().items(), location.args

    for args in SSE_LOCATIONS:
        sse = config.location(tls, *args)
        assert sse.value("proxy_buffering") == "off" and sse.value("gzip") == "off", args
        assert seconds(sse.value("proxy_read_timeout")) >= 3600, args
        assert sse.value("proxy_pass") == "http://hexfleet_web"
    track = config.location(tls, *SSE_LOCATIONS[1])
    assert re.match(track.args[1], "/api/v1/track/eyJiIjo1fQ.Zx-9_aB/stream")  # a real token's shape
    assert not re.match(track.args[1], "/api/v1/track/eyJiIjo1fQ.Zx-9_aB")

    ws = config.location(tls, "/api/v1/ws/")
    assert ws.headers()["Upgrade"] == "$http_upgrade" and ws.headers()["Connection"] == "$hexfleet_connection"
    assert seconds(ws.value("proxy_read_timeout")) >= 3600
    # Compression only for static files: never a stream, never a page with a CSRF token in it.
    assert not http.all("gzip") and not tls.all("gzip")
    for prefix, max_age in (("/static/vendor/", 31536000), ("/static/", 3600)):
        static = config.location(tls, prefix)
        assert static.value("gzip") == "on" and "text/css" in static.value("gzip_types")
        cache = next(d for d in static.all("add_header") if d.args[0] == "Cache-Control")
        assert f"max-age={max_age}" in _unquote(cache.args[1])
    # The routes the app lets take larger bodies get the same limits here, and only they do.
    larger = ["/api/v1/places/import", "/admin/places/import", "/api/v1/zones/import"]
    larger += ["/api/v1/zones", "/api/v1/zones/7"]
    for path in larger:
        matching = [loc for loc in tls.all("location") if loc.all("client_max_body_size") and _matches(loc, path)]
        assert len(matching) == 1, path
        assert size(matching[0].value("client_max_body_size")) == large_body_limit(path), path
        assert matching[0].value("proxy_pass") == "http://hexfleet_web"
    for path in ("/api/v1/zones/7/inside", "/api/v1/places", "/api/v1/driver/pings"):
        assert large_body_limit(path) is None
        assert not [loc for loc in tls.all("location") if loc.all("client_max_body_size") and _matches(loc, path)]

    # Our ES modules come from the app, which versions their imports (webapp/static_files.py).
    scripts = config.location(tls, "/static/js/")
    assert scripts.value("proxy_pass") == "http://hexfleet_web" and not scripts.all("root")


def _matches(location, path: str) -> bool:
    """Whether an exact (=) or regex (~) location of the shipped config takes `path`."""
    if location.args[0] == "=":
        return location.args[1] == path
    if location.args[0] == "~":
        return re.match(location.args[1], path) is not None
    return False


def test_nginx_accepts_the_shipped_config_with_tls(tmp_path):
    _require_nginx()
    folder = _folder()
    try:
        cert, key = folder / "cert.pem", folder / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=fleet.example.com",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        config = parse(CONFIG.read_text())
        tls = config.server("443")
        tls.one("ssl_certificate").args = [str(cert)]
        tls.one("ssl_certificate_key").args = [str(key)]
        _localise(config, folder, free_port())
        for server, port in ((tls, free_port()), (config.server(":80"), free_port())):
            for listen in server.all("listen"):
                listen.args[0] = f"[::1]:{port}" if listen.args[0].startswith("[::]") else f"127.0.0.1:{port}"
        (folder / "nginx.conf").write_text(dump(config.top.block or []))
        checked = _nginx(folder, "-t")
        assert checked.returncode == 0, checked.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- the test copy, running


def _require_nginx() -> None:
    if not os.access(NGINX, os.X_OK):
        pytest.fail("nginx is not installed: `make nginx` installs it (`make test` does)", pytrace=False)


def _folder() -> Path:
    # Under /tmp, readable by nginx's worker user (pytest's own tmp_path is private to root).
    folder = Path(tempfile.mkdtemp(prefix="hexfleet-nginx-"))
    folder.chmod(0o755)
    return folder


def _nginx(folder: Path, *args: str, **popen) -> subprocess.CompletedProcess:
    argv = [NGINX, "-p", f"{folder}/", "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False, **popen)


def _mime_types() -> str:
    """mime.types beside nginx's own configuration (Debian: /etc/nginx)."""
    info = subprocess.run([NGINX, "-V"], capture_output=True, text=True, check=False).stderr
    conf = re.search(r"--conf-path=(\S+)", info)
    return str(Path(conf[1]).parent / "mime.types") if conf else "/etc/nginx/mime.types"


def _localise(config: Config, folder: Path, upstream_port: int) -> None:
    """Everything nginx writes goes to ``folder``; the upstream is the test's web process."""
    top, http = config.top, config.http
    assert top.block is not None and http.block is not None
    top.one("pid").args = [str(folder / "nginx.pid")]
    user = top.one("user")
    try:
        pwd.getpwnam(user.args[0])
        if os.geteuid() != 0:
            top.block.remove(user)  # only root can switch users
    except KeyError:
        top.block.remove(user)
    http.one("include").args = [_mime_types()]
    http.one("access_log").args = [str(folder / "access.log"), "hexfleet"]
    http.one("error_log").args = [str(folder / "error.log"), "warn"]
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        http.block.append(Directive(f"{kind}_temp_path", [str(folder / "temp" / kind)]))
    (folder / "temp").mkdir()
    http.one("upstream").one("server").args = [f"127.0.0.1:{upstream_port}"]


def proxy_copy(app_port: int, port: int, folder: Path) -> str:
    """deploy/nginx.conf as the test runs it: plain HTTP on ``port``, nothing outside ``folder``."""
    config = parse(CONFIG.read_text())
    _localise(config, folder, app_port)
    http, tls = config.http, config.server("443")
    assert http.block is not None and tls.block is not None
    http.block.remove(config.server(":80"))
    tls.block = [d for d in tls.block if not d.name.startswith("ssl_") and d.name != "listen"]
    tls.block.insert(0, Directive("listen", [f"127.0.0.1:{port}"]))
    # The app says X-Accel-Buffering: no on its streams; ignore it, so only the config keeps them unbuffered.
    http.block.append(Directive("proxy_ignore_headers", ["X-Accel-Buffering"]))
    # Static files from a copy of the ones the tests fetch (the checkout may not be readable by nginx's user).
    for name in ("css/app.css", "vendor/htmx-2.0.11/htmx.min.js"):
        target = folder / "static" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "static" / name, target)
    for location in tls.all("location"):
        if location.all("root") and location.args[0].startswith("/static/"):
            location.one("root").args = [str(folder)]
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dump(config.top.block or [])


@dataclass
class Proxied:
    url: str
    port: int
    app_url: str
    folder: Path

    def access_log(self) -> str:
        return (self.folder / "access.log").read_text()


@pytest.fixture
async def proxied(settings, db, redis):
    _require_nginx()
    web, app_url = await start_web(settings, FORWARDED_ALLOW_IPS="127.0.0.1", RATE_LOGIN_ADDRESS="3/minute")
    folder, port = _folder(), free_port()
    proc = None
    try:
        (folder / "nginx.conf").write_text(proxy_copy(int(app_url.rsplit(":", 1)[1]), port, folder))
        checked = _nginx(folder, "-t")
        assert checked.returncode == 0, checked.stderr
        argv = [NGINX, "-p", f"{folder}/", "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
        proc = subprocess.Popen([*argv, "-g", "daemon off;"], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while not port_open(port):
            assert proc.poll() is None, f"nginx exited: {proc.stderr.read().decode()}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "nginx did not listen within 15 s"
            await asyncio.sleep(0.05)
        yield Proxied(f"http://127.0.0.1:{port}", port, app_url, folder)
    finally:
        for p in (proc, web):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(folder, ignore_errors=True)


async def read_sse(client: httpx.AsyncClient, path: str, token: str, seen: list) -> None:
    """Collect (arrival time, event block) from a stream; the first item is its status and type."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with client.stream("GET", path, headers=headers) as response:
        seen.append(
            (response.status_code, response.headers.get("content-type"), response.headers.get("content-encoding"))
        )
        buffer = ""
        async for chunk in response.aiter_text():
            buffer += chunk
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                seen.append((time.monotonic(), block))


def _positions(seen: list, driver_id: int) -> list[tuple[float, dict]]:
    out = []
    for arrived, block in seen[1:]:
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines.get("event") == "position":
            data = orjson.loads(lines["data"])
            if data["driver_id"] == driver_id:
                out.append((arrived, data))
    return out


async def test_streams_and_websockets_work_through_the_proxy_at_once(proxied, db):
    from websockets.asyncio.client import connect

    _, staff = await make_user(db, "dispatcher")
    driver, device = await make_driver(db, "Through the proxy")
    sent: dict[float, float] = {}  # device time → when it was posted

    async with httpx.AsyncClient(base_url=proxied.url, trust_env=False, timeout=httpx.Timeout(5, read=60)) as client:

        async def ping() -> None:
            ts = round(time.time(), 3)
            sent[ts] = time.monotonic()
            answer = await client.post(
                "/api/v1/driver/pings",
                json={"lat": 52.52, "lng": 13.405, "ts": ts},
                headers={"Authorization": f"Bearer {device.token}"},
            )
            assert answer.status_code == 202, answer.text

        seen: list = []
        opened = time.monotonic()
        reader = asyncio.create_task(read_sse(client, "/api/v1/stream/positions", staff, seen))
        try:
            await wait_for(lambda: _true(len(seen) >= 2), timeout=5)
            assert seen[0] == (200, "text/event-stream", None)  # not compressed
            assert ": connected" in seen[1][1] and seen[1][0] - opened < 2  # the first bytes at once
            # The stream's consumer may start just after the first ping: ping until one shows.
            deadline = time.monotonic() + 15
            while not _positions(seen, driver.id):
                assert time.monotonic() < deadline, f"no position event through the proxy: {seen}"
                await ping()
                await asyncio.sleep(0.3)
            arrived, event = _positions(seen, driver.id)[0]
            device_time = datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp()
            delay = arrived - sent[round(device_time, 3)]
            assert delay < 1.0, f"a position took {delay:.2f} s through the proxy (buffered?)"
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

        # The same over WebSocket, with the Origin a browser on the proxy's address sends:
        # the app's Origin check needs the Host the browser asked for (port included).
        ws_url = f"ws://127.0.0.1:{proxied.port}/api/v1/ws/positions?driver_id={driver.id}"
        headers = {"Authorization": f"Bearer {staff}", "Origin": proxied.url}
        async with connect(ws_url, additional_headers=headers, open_timeout=10) as ws:
            deadline = time.monotonic() + 15
            while True:
                await ping()
                try:
                    message = orjson.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except TimeoutError:
                    assert time.monotonic() < deadline, "no position over the WebSocket through the proxy"
                    continue
                assert message["driver_id"] == driver.id
                break
        with pytest.raises(Exception):  # noqa: B017 - refused at the handshake or closed at once
            async with connect(ws_url, additional_headers={**headers, "Origin": "https://evil.example"}) as ws:
                await asyncio.wait_for(ws.recv(), 5)

        # The driver app's offers and a tracking link's live view: open at once through their locations.
        await make_fare(db)
        _, rider = await make_user(db, "customer")
        auth = {"Authorization": f"Bearer {rider}"}
        quote = await client.post(
            "/api/v1/quotes", json={"pickup": {"lat": 52.52, "lng": 13.405}, "dropoff": {"lat": 52.53, "lng": 13.42}},
            headers=auth,
        )  # fmt: skip
        passenger = {"name": "Rita", "phone": "+4930555"}
        booking = await client.post(
            "/api/v1/bookings",
            json={"quote_id": quote.json()["quote_id"], "passenger": passenger, "confirm_no_driver": True},
            headers=auth,
        )
        tracking_url = booking.json()["tracking_url"]
        assert tracking_url.startswith(f"{proxied.url}/t/")  # the app wrote the address the client used
        secret = tracking_url.rsplit("/", 1)[1]
        for path, token in (("/api/v1/driver/offers/stream", device.token), (f"/api/v1/track/{secret}/stream", "")):
            seen = []
            opened = time.monotonic()
            reader = asyncio.create_task(read_sse(client, path, token, seen))
            try:
                await wait_for(lambda: _true(len(seen) >= 2), timeout=5)  # noqa: B023
                assert seen[0][:2] == (200, "text/event-stream") and seen[1][0] - opened < 2, (path, seen)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def logged() -> bool:
        return "/api/v1/track/<token>/stream" in proxied.access_log()

    await wait_for(logged, timeout=5)
    assert secret not in proxied.access_log()  # the tracking secret stays out of the proxy's log


async def test_limits_count_the_real_client_and_a_forged_forwarded_for_changes_nothing(proxied):
    """RATE_LOGIN_ADDRESS is 3/minute here: sign-in attempts per client address."""
    attempts = 0

    async def sign_in(source: str, *, direct: bool = False, forged: str | None = None) -> int:
        nonlocal attempts
        attempts += 1
        base = proxied.app_url if direct else proxied.url
        transport = httpx.AsyncHTTPTransport(local_address=source)
        async with httpx.AsyncClient(transport=transport, base_url=base, trust_env=False, timeout=10) as client:
            page = await client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]  # type: ignore[index]
            headers = {"Origin": base, **({"X-Forwarded-For": forged} if forged else {})}
            form = {"email": f"nobody-{attempts}@example.org", "password": "not-the-password", "csrf_token": csrf}
            return (await client.post("/login", data=form, headers=headers)).status_code

    # Without FORWARDED_ALLOW_IPS every client behind the proxy would share its address (127.0.0.1).
    assert [await sign_in("127.0.0.2") for _ in range(3)] == [400, 400, 400]
    assert await sign_in("127.0.0.2") == 429  # 127.0.0.2 spent its budget
    assert await sign_in("127.0.0.3") == 400  # another client behind the same proxy has its own
    # A client's own X-Forwarded-For is replaced by the proxy: it cannot spend or borrow another's budget.
    assert await sign_in("127.0.0.3", forged="127.0.0.2") == 400
    # Straight to the app, the header is not trusted from anyone but the proxy: it counts for the sender.
    assert await sign_in("127.0.0.3", direct=True, forged="127.0.0.2") == 400
    assert await sign_in("127.0.0.3") == 429  # its fourth


async def test_bodies_static_files_and_the_access_log(proxied, db):
    _, device = await make_driver(db, "Big bodies")
    auth = {"Authorization": f"Bearer {device.token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=proxied.url, trust_env=False, timeout=10) as client:
        ping = orjson.dumps({"lat": 52.52, "lng": 13.405, "ts": round(time.time(), 3)})
        too_big = await client.post("/api/v1/driver/pings", content=ping + b" " * (257 * 1024), headers=auth)
        assert too_big.status_code == 413 and too_big.headers["server"] == "nginx"  # the proxy's answer
        fits = await client.post("/api/v1/driver/pings", content=ping + b" " * (250 * 1024), headers=auth)
        assert fits.status_code == 202, fits.text  # the app's
        # A file of places or zones over that size reaches the app (which asks who is sending it).
        for path in ("/api/v1/places/import", "/api/v1/zones/import"):
            big = await client.post(path, content=b" " * (1024 * 1024), headers={"Content-Type": "text/csv"})
            assert big.status_code == 401 and big.headers["content-type"] == "application/problem+json", path

        own = await client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip"})
        assert own.status_code == 200 and own.headers["content-encoding"] == "gzip"
        assert own.headers["cache-control"] == "public, max-age=3600"
        assert own.content == (ROOT / "static" / "css" / "app.css").read_bytes()
        vendored = await client.get("/static/vendor/htmx-2.0.11/htmx.min.js", headers={"Accept-Encoding": "gzip"})
        assert vendored.status_code == 200 and vendored.headers["content-encoding"] == "gzip"
        assert "immutable" in vendored.headers["cache-control"]
        # A page's module, from the app: its imports carry their versions, and so may be kept.
        page_js = re.search(r'src="(/static/js/page\.js\?v=[0-9a-f]{12})"', (await client.get("/login")).text)
        assert page_js, "the sign-in page loads page.js as a versioned module"
        module = await client.get(page_js.group(1), headers={"Accept-Encoding": "gzip"})
        assert module.status_code == 200 and module.headers["content-encoding"] == "gzip"
        assert module.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert re.search(r'from "\./lib/format\.js\?v=[0-9a-f]{12}"', module.text)

        page = await client.get("/t/not-a-real-but-secret-token-123")
        assert page.status_code in (404, 410), page.status_code
    log = proxied.access_log()
    assert "/t/<token>" in log and "not-a-real-but-secret-token-123" not in log


async def test_osmand_device_ids_stay_out_of_the_access_log(proxied, db):
    """Traccar Client sends its device id, its only credential, in the query string."""
    _, device = await make_driver(db, "Traccar phone")
    guesses = ["0123456789abcdef0123", "fedcba9876543210fedc", "a1b2c3d4e5f6a7b8c9d0"]
    now = int(time.time())
    fix = "lat=52.52&lon=13.405&speed=3.5"
    sent = [  # (method, path and query, status the app answers)
        ("GET", f"/osmand?id={device.device_id}&timestamp={now}&{fix}", 200),  # Traccar Client
        ("POST", f"/osmand?timestamp={now + 1}&{fix}&deviceid={device.device_id}", 200),  # older apps
        ("GET", f"/osmand?{fix}&id={guesses[0]}&timestamp={now + 2}", 404),  # a stranger guessing
        ("GET", f"/osmand?deviceid={guesses[1]}&ID={guesses[2]}&timestamp={now + 3}&{fix}", 404),
        # More id values than the config masks one by one: the query is not logged at all.
        ("GET", f"/osmand?id={guesses[0]}&deviceid={guesses[1]}&id={guesses[2]}&{fix}", 404),
    ]
    async with httpx.AsyncClient(base_url=proxied.url, trust_env=False, timeout=10) as client:
        for method, target, status in sent:
            answer = await client.request(method, target)
            assert answer.status_code == status, (target, answer.text)
            assert device.device_id not in answer.text and not any(g in answer.text for g in guesses)

    async def all_logged() -> bool:
        return proxied.access_log().count('"GET /osmand') + proxied.access_log().count('"POST /osmand') == len(sent)

    await wait_for(all_logged, timeout=5)
    log = proxied.access_log()
    assert device.device_id not in log, log
    for guess in guesses:
        assert guess not in log, log
    lines = [line for line in log.splitlines() if "/osmand" in line]
    assert f"/osmand?id=<device-id>&timestamp={now}&{fix} " in lines[0]  # what the fix was stays readable
    assert f"&{fix}&deviceid=<device-id> " in lines[1]
    assert f"/osmand?deviceid=<device-id>&ID=<device-id>&timestamp={now + 3}" in lines[3]
    assert '"GET /osmand?<query withheld> ' in lines[4]
    # Parameters that merely end in "id" are no device id: logged as sent.
    async with httpx.AsyncClient(base_url=proxied.url, trust_env=False, timeout=10) as client:
        await client.get(f"/osmand?valid=false&{fix}&id={device.device_id}&timestamp={now + 4}")

    async def valid_logged() -> bool:
        return "valid=false" in proxied.access_log()

    await wait_for(valid_logged, timeout=5)
    assert f"/osmand?valid=false&{fix}&id=<device-id>&timestamp={now + 4}" in proxied.access_log()
    assert device.device_id not in proxied.access_log()


async def _true(value) -> bool:
    return bool(value)


# ---------------------------------------------------------------- the systemd units beside it


def _unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections → key → values (continued lines joined, as systemd reads them)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, value = line.split("=", 1)
        current.setdefault(key, []).append(value)
    return sections


def test_the_systemd_units_run_the_procfile_and_always_restart():
    from hexfleet.devtools.supervisor import read_procfile

    procfile = read_procfile(ROOT / "Procfile")
    for name in ("web", "stream", "worker"):
        unit = _unit(ROOT / "deploy" / "systemd" / f"hexfleet-{name}.service")
        service = unit["Service"]
        assert service["Restart"] == ["always"] and float(service["RestartSec"][0]) > 0, name
        assert unit["Unit"]["StartLimitIntervalSec"] == ["0"], name  # never stop restarting
        assert service["EnvironmentFile"] and service["KillSignal"] == ["SIGTERM"], name
        # The Procfile's command, with systemd's ${NAME} for the shell's ${NAME:-default}
        # (defaults come from Environment=) and PORT for the dev supervisor's WEB_PORT.
        expected = re.sub(r"\$\{(\w+):-[^}]*\}", r"${\1}", procfile[name].command).replace("WEB_PORT", "PORT").split()
        program, *args = service["ExecStart"][0].split()
        assert Path(program).name == expected[0] and args == expected[1:], name
        defaults = " ".join(service.get("Environment", []))
        for variable in re.findall(r"\$\{(\w+)\}", " ".join(args)):
            assert f"{variable}=" in defaults, f"{name}: no default for {variable}"
