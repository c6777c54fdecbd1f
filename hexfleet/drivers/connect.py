"""How a driver's phone connects: Traccar Client (OsmAnd protocol) and OwnTracks (HTTP mode).

Pure: from the base URL phones reach, the optional OsmAnd port and a device's credentials,
build the settings each app needs, as text and as QR payloads. The token is only known
right after a device is created or rotated (tokens are stored hashed), so the OwnTracks
password and its one-tap configuration link exist only then.

What the apps read (checked against their sources):
- Traccar Client 9+ scans a QR code in its settings: an ``http(s)`` URL whose origin and
  path become the server URL and whose query sets ``id``, ``accuracy``, ``interval``, ...
  (traccar-client ``lib/configuration_service.dart``). Older versions: type them in.
- OwnTracks opens ``owntracks:///config?inline=<base64 of a configuration JSON>``. iOS
  decodes it with ``NSData initWithBase64EncodedString`` (standard alphabet with padding,
  no URL-safe variant) and Android's URI parser turns a bare ``+`` into a space, so the
  link carries standard base64, percent-encoded. Keys: ``_type``, ``mode`` (3 = HTTP),
  ``url``, ``auth``, ``username``, ``password``, ``deviceId``, ``tid`` (at most two
  letters or digits).
"""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import unicodedata
from dataclasses import asdict, dataclass
from urllib.parse import quote, urlencode, urlsplit

import segno

# What we suggest to Traccar Client: a fix every 10 s at high accuracy suits dispatch
# (the live map glides between fixes) without draining the battery like 1 s would.
TRACCAR_INTERVAL_S = 10
TRACCAR_ACCURACY = "high"
OWNTRACKS_MODE_HTTP = 3
OWNTRACKS_CONFIG_PREFIX = "owntracks:///config?inline="


@dataclass(frozen=True)
class TraccarClient:
    server_url: str
    device_id: str
    accuracy: str
    interval_s: int
    qr_payload: str  # the settings as a URL Traccar Client 9+ scans (Settings → QR icon)


@dataclass(frozen=True)
class OwnTracks:
    url: str
    username: str
    device_id: str
    tracker_id: str
    password: str | None  # None: the token is not known any more (shown once, stored hashed)
    config_link: str | None  # owntracks:///config?inline=...; only with the password


@dataclass(frozen=True)
class ConnectInstructions:
    base_url: str
    device_id: str
    traccar: TraccarClient
    owntracks: OwnTracks
    # The base URL names this machine only (localhost, 127.0.0.1, 0.0.0.0): a phone cannot reach it.
    local_only: bool

    def to_json(self) -> dict:
        return asdict(self)


def host_of(base_url: str) -> str:
    """The host part of a base URL, bracketed when it is an IPv6 address."""
    host = urlsplit(base_url).hostname or ""
    return f"[{host}]" if ":" in host else host


def is_local_only(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def osmand_url(base_url: str, osmand_port: int) -> str:
    """Traccar's convention is a bare ``http://host:port`` (OSMAND_PORT, plain HTTP);
    without that listener the same protocol is served at ``/osmand`` on the main port."""
    base_url = base_url.rstrip("/")
    if osmand_port:
        return f"http://{host_of(base_url)}:{osmand_port}"
    return f"{base_url}/osmand"


def tracker_id(name: str | None, device_id: str) -> str:
    """OwnTracks' two-character tracker id (shown on its map): the driver's initials."""
    words = [_ascii_alnum(w) for w in (name or "").split()]
    words = [w for w in words if w]
    if len(words) >= 2:
        return (words[0][0] + words[-1][0]).upper()
    if words:
        return words[0][:2].upper()
    return _ascii_alnum(device_id)[:2].upper() or "HF"


def _ascii_alnum(text: str) -> str:
    # "Özil" -> "Ozil": Android only accepts [A-Za-z0-9] here.
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain if ch.isalnum())


def owntracks_config(url: str, device_id: str, token: str, tid: str) -> dict:
    return {
        "_type": "configuration",
        "mode": OWNTRACKS_MODE_HTTP,
        "url": url,
        "auth": True,
        "username": device_id,
        "password": token,
        "deviceId": device_id,
        "tid": tid,
    }


def owntracks_config_link(config: dict) -> str:
    raw = json.dumps(config, separators=(",", ":")).encode()
    return OWNTRACKS_CONFIG_PREFIX + quote(base64.b64encode(raw).decode("ascii"), safe="")


def instructions(
    base_url: str, osmand_port: int, device_id: str, token: str | None = None, name: str | None = None
) -> ConnectInstructions:
    """Everything a phone needs; ``token`` only right after creation or rotation."""
    base_url = base_url.rstrip("/")
    server_url = osmand_url(base_url, osmand_port)
    traccar = TraccarClient(
        server_url=server_url,
        device_id=device_id,
        accuracy=TRACCAR_ACCURACY,
        interval_s=TRACCAR_INTERVAL_S,
        qr_payload=f"{server_url}?"
        + urlencode({"id": device_id, "accuracy": TRACCAR_ACCURACY, "interval": TRACCAR_INTERVAL_S}),
    )
    owntracks_url = f"{base_url}/owntracks"
    tid = tracker_id(name, device_id)
    link = owntracks_config_link(owntracks_config(owntracks_url, device_id, token, tid)) if token else None
    owntracks = OwnTracks(
        url=owntracks_url,
        username=device_id,
        device_id=device_id,
        tracker_id=tid,
        password=token or None,
        config_link=link,
    )
    return ConnectInstructions(base_url, device_id, traccar, owntracks, is_local_only(base_url))


# ---------------------------------------------------------------- QR codes (segno)


def qr_svg(text: str, title: str | None = None, target_px: int = 150) -> str:
    """An inline ``<svg>`` QR code (error correction M) about ``target_px`` wide.

    The size is a whole number of pixels per module (at least 2), so every module renders
    crisp on a low-DPI control room screen; the viewBox lets CSS shrink it on small ones.
    """
    qr = segno.make(text, error="m")
    modules = qr.symbol_size()[0]  # including the quiet zone
    px = modules * max(2, round(target_px / modules))
    svg = qr.svg_inline(
        scale=1, omitsize=True, dark="#111827", light="#ffffff", svgclass="qr-svg", lineclass=None, title=title
    )
    # segno writes either width/height or a viewBox; we want both.
    return svg.replace("<svg ", f'<svg width="{px}" height="{px}" ', 1)


def qr_terminal(text: str) -> str:
    """The QR code as Unicode half blocks for a terminal (light modules drawn, like most
    terminals: light text on a dark background)."""
    out = io.StringIO()
    segno.make(text, error="m").terminal(out=out, compact=True)
    return out.getvalue()


# ---------------------------------------------------------------- text (CLI)


def as_text(connect: ConnectInstructions, rotate_hint: str | None = None) -> str:
    """The instructions as plain text; ``rotate_hint`` tells how to get a password when it is unknown."""
    t, o = connect.traccar, connect.owntracks
    lines = ["Connect a phone"]
    if connect.local_only:
        lines.append(
            f"  note: {connect.base_url} only works on this computer; set PUBLIC_URL to the address phones reach"
        )
    lines += [
        "  Traccar Client (OsmAnd protocol)",
        f"    server URL:         {t.server_url}",
        f"    device identifier:  {t.device_id}",
        f"    location accuracy:  {t.accuracy}",
        f"    frequency:          {t.interval_s} s (5-10 s suits live dispatch)",
        f"    QR (Traccar Client 9+, Settings > scan QR; sets all of the above): {t.qr_payload}",
        "  OwnTracks (HTTP mode)",
        "    mode:               HTTP",
        f"    URL:                {o.url}",
        "    authentication:     on",
        f"    user:               {o.username}",
        f"    device id:          {o.device_id}",
        f"    tracker id:         {o.tracker_id}",
    ]
    if o.password:
        lines.append(f"    password:           {o.password}")
    else:
        hint = f"; {rotate_hint}" if rotate_hint else ""
        lines.append(f"    password:           the device token, shown only when it is created or rotated{hint}")
    if o.config_link:
        lines.append(f"    config link (open on the phone, or scan it): {o.config_link}")
    return "\n".join(lines)
