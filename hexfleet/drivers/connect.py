"""How a driver's phone connects: Traccar Client (OsmAnd protocol) and OwnTracks (HTTP mode).

Pure: from the base URL phones reach, the optional OsmAnd port and a device's credentials,
build the settings each app needs, as text and as QR payloads. The device id and token are
only known right after a device is created or rotated (both are stored hashed: the id is
OsmAnd's only credential), so they, the QR codes and the one-tap configuration link that
carry them exist only then. Later the same instructions give the server addresses and app
settings, and the id's last 4 characters to tell phones apart.

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

from hexfleet import security

# What we suggest to Traccar Client: a fix every 10 s at high accuracy suits dispatch
# (the live map glides between fixes) without draining the battery like 1 s would.
TRACCAR_INTERVAL_S = 10
TRACCAR_ACCURACY = "high"
OWNTRACKS_MODE_HTTP = 3
OWNTRACKS_CONFIG_PREFIX = "owntracks:///config?inline="


# What stands in for the device id once it is not known any more.
ID_SHOWN_ONCE = "shown once, when the device was created or last rotated"


@dataclass(frozen=True)
class TraccarClient:
    server_url: str
    device_id: str | None  # None: not known any more (shown once, stored hashed)
    accuracy: str
    interval_s: int
    qr_payload: str | None  # the settings as a URL Traccar Client 9+ scans (Settings → QR icon); with the id only


@dataclass(frozen=True)
class OwnTracks:
    url: str
    username: str | None  # the device id: None once it is not known any more
    device_id: str | None
    tracker_id: str
    password: str | None  # None: the token is not known any more (shown once, stored hashed)
    config_link: str | None  # owntracks:///config?inline=...; only with the id and password


@dataclass(frozen=True)
class ConnectInstructions:
    base_url: str
    device_id: str | None  # only right after creation or rotation
    device_hint: str | None  # the id's last 4 characters (hexfleet.security.device_id_hint)
    traccar: TraccarClient
    owntracks: OwnTracks
    # The base URL names this machine only (localhost, 127.0.0.1, 0.0.0.0): a phone cannot reach it.
    local_only: bool

    @property
    def fresh(self) -> bool:
        """Right after creation or rotation: the id (and the token) are here, once."""
        return self.device_id is not None

    def to_json(self) -> dict:
        return asdict(self)


def masked_hint(hint: str | None) -> str:
    """How a device shows once its id is not known: "•••• 3f9a" (enough to tell two apart)."""
    return f"•••• {hint}" if hint else "••••"


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


def tracker_id(name: str | None, device_id_or_hint: str | None) -> str:
    """OwnTracks' two-character tracker id (shown on its map): the driver's initials, else
    the device id's last two characters (the same from the id or its hint)."""
    words = [_ascii_alnum(w) for w in (name or "").split()]
    words = [w for w in words if w]
    if len(words) >= 2:
        return (words[0][0] + words[-1][0]).upper()
    if words:
        return words[0][:2].upper()
    return _ascii_alnum(device_id_or_hint or "")[-2:].upper() or "HF"


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
    base_url: str,
    osmand_port: int,
    device_id: str | None = None,
    token: str | None = None,
    name: str | None = None,
    hint: str | None = None,
) -> ConnectInstructions:
    """Everything a phone needs. ``device_id`` and ``token`` only right after creation or
    rotation; later, ``hint`` (the id's last 4 characters) stands in for the id."""
    base_url = base_url.rstrip("/")
    server_url = osmand_url(base_url, osmand_port)
    if device_id is not None:
        hint = security.device_id_hint(device_id)
    traccar = TraccarClient(
        server_url=server_url,
        device_id=device_id,
        accuracy=TRACCAR_ACCURACY,
        interval_s=TRACCAR_INTERVAL_S,
        qr_payload=f"{server_url}?"
        + urlencode({"id": device_id, "accuracy": TRACCAR_ACCURACY, "interval": TRACCAR_INTERVAL_S})
        if device_id
        else None,
    )
    owntracks_url = f"{base_url}/owntracks"
    tid = tracker_id(name, device_id or hint)
    link = (
        owntracks_config_link(owntracks_config(owntracks_url, device_id, token, tid)) if device_id and token else None
    )
    owntracks = OwnTracks(
        url=owntracks_url,
        username=device_id,
        device_id=device_id,
        tracker_id=tid,
        password=token or None,
        config_link=link,
    )
    return ConnectInstructions(base_url, device_id, hint, traccar, owntracks, is_local_only(base_url))


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
    """The instructions as plain text; ``rotate_hint`` (a sentence) tells how to get a new
    device id and token when they are not known any more."""
    t, o = connect.traccar, connect.owntracks
    unknown = f"{masked_hint(connect.device_hint)} ({ID_SHOWN_ONCE})"
    lines = ["Connect a phone"]
    if connect.local_only:
        lines.append(
            f"  note: {connect.base_url} only works on this computer; set PUBLIC_URL to the address phones reach"
        )
    lines += [
        "  Traccar Client (OsmAnd protocol)",
        f"    server URL:         {t.server_url}",
        f"    device identifier:  {t.device_id or unknown}",
        f"    location accuracy:  {t.accuracy}",
        f"    frequency:          {t.interval_s} s (5-10 s suits live dispatch)",
    ]
    if t.qr_payload:
        lines.append(f"    QR (Traccar Client 9+, Settings > scan QR; sets all of the above): {t.qr_payload}")
    lines += [
        "  OwnTracks (HTTP mode)",
        "    mode:               HTTP",
        f"    URL:                {o.url}",
        "    authentication:     on",
        f"    user:               {o.username or 'the device identifier'}",
        f"    device id:          {o.device_id or 'the device identifier'}",
        f"    tracker id:         {o.tracker_id}",
    ]
    if o.password:
        lines.append(f"    password:           {o.password}")
    else:
        lines.append("    password:           the device token, shown only when it is created or rotated")
    if o.config_link:
        lines.append(f"    config link (open on the phone, or scan it): {o.config_link}")
    if not connect.fresh:
        lines.append(
            "  The device identifier and token were shown once, when the device was created or last rotated:"
            " only their hashes are kept, so they cannot be shown again."
        )
        if rotate_hint:
            lines.append(f"  {rotate_hint}")
    return "\n".join(lines)
