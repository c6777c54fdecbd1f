"""Security headers on every answer: a strict Content-Security-Policy for pages, and the usual rest.

The pages load only our own vendored scripts and styles (no inline script, no style
attributes), so the policy can forbid everything else; map tiles may come from the
MAP_TILE_URL host. /docs (Swagger UI) starts itself with an inline script: it gets the
same policy with that one allowance.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# The raw-ASGI ingest answers get these too (webapp/ingest.py).
BASIC = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def tile_origin(tile_url: str) -> str:
    parts = urlsplit(tile_url.replace("{s}", "a"))
    if not parts.scheme or not parts.netloc:
        return ""
    # {s} subdomains (a, b, c.tile...) all need to be allowed.
    host = parts.netloc.replace("{s}", "*")
    if "{s}" in tile_url:
        host = "*." + parts.netloc.split(".", 1)[1] if "." in parts.netloc else parts.netloc
    return f"{parts.scheme}://{host}"


def content_security_policy(tile_url: str, docs: bool = False) -> str:
    tiles = tile_origin(tile_url)
    script = "'self' 'unsafe-inline'" if docs else "'self'"
    style = "'self' 'unsafe-inline'" if docs else "'self'"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script}",
            f"style-src {style}",
            f"img-src 'self' data: {tiles}".rstrip(),
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
