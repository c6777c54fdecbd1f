"""Static files: compressed, and cached by browsers as long as they can be.

- URLs made with ``url_for('static', ...)`` carry ``?v=<hash of the file>``: a changed file
  gets a new URL, so those answers (and everything under ``vendor/<name>-<version>/``,
  whose paths change with the version) may be kept for a year without asking again.
  Anything else is revalidated (ETag, 304) on each use.
- Text answers (JS, CSS, SVG, JSON, maps) are gzipped for clients that accept it, once per
  file version, kept in memory: the control room's assets go from ~360 KB to ~100 KB, and
  /docs' Swagger UI from 1.9 MB to ~0.5 MB.

A reverse proxy or CDN in front may do the same; these headers are what it would honour.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from pathlib import Path

from quart import Quart, Response, g, request

log = logging.getLogger("hexfleet.web")

YEAR = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
MIN_COMPRESS_BYTES = 1024


def gzip_tag(tag: str) -> str:
    """The gzipped answer is another representation: another tag (weak, as a proxy makes)."""
    return f'W/"{tag.removeprefix("W/").strip(chr(34))}-gz"'


class StaticFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._versions: dict[str, tuple[int, str]] = {}  # filename → (mtime_ns, hash)
        self._gzipped: dict[tuple[str, str], bytes] = {}  # (filename, hash) → gzip body

    def version(self, filename: str) -> str | None:
        """A short hash of the file's content, recomputed when its mtime changes."""
        path = (self.folder / filename).resolve()
        if not path.is_relative_to(self.folder) or not path.is_file():
            return None
        mtime = path.stat().st_mtime_ns
        known = self._versions.get(filename)
        if known is None or known[0] != mtime:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            self._versions[filename] = known = (mtime, digest)
        return known[1]

    def cache_control(self, filename: str, asked_version: str | None) -> str:
        if filename.startswith("vendor/"):
            return YEAR
        if asked_version and asked_version == self.version(filename):
            return YEAR
        return REVALIDATE

    async def compress(self, filename: str, response: Response) -> None:
        version = self.version(filename)
        if version is None:
            return
        key = (filename, version)
        body = self._gzipped.get(key)
        if body is None:
            raw = await response.get_data()
            assert isinstance(raw, bytes)
            if len(raw) < MIN_COMPRESS_BYTES:
                return
            body = gzip.compress(raw, compresslevel=6, mtime=0)
            self._gzipped[key] = body
        response.set_data(body)
        response.headers["Content-Encoding"] = "gzip"
        if response.headers.get("ETag"):
            response.headers["ETag"] = gzip_tag(response.headers["ETag"])


def install(app: Quart) -> None:
    assert app.static_folder is not None
    files = StaticFiles(Path(app.static_folder).resolve())
    app.extensions["static_files"] = files

    @app.url_defaults
    def versioned(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = files.version(values["filename"])
            if version:
                values["v"] = version

    @app.before_request
    async def gzip_tags_revalidate() -> None:
        # A browser revalidates with the tag of the gzipped answer it holds: ask Quart's
        # conditional check with the file's own tag, so an unchanged file is a 304.
        if request.endpoint != "static":
            return
        asked = request.headers.get("If-None-Match", "")
        if "-gz" in asked:
            g.gzip_tag = True
            request.headers["If-None-Match"] = asked.replace("W/", "").replace('-gz"', '"')

    @app.after_request
    async def cache_and_compress(response: Response) -> Response:
        if request.endpoint != "static" or not request.view_args:
            return response
        filename = str(request.view_args.get("filename", ""))
        if response.status_code == 304 and g.get("gzip_tag") and response.headers.get("ETag"):
            response.headers["ETag"] = gzip_tag(response.headers["ETag"])
        response.headers["Cache-Control"] = files.cache_control(filename, request.args.get("v"))
        response.vary.add("Accept-Encoding")
        wants_gzip = "gzip" in request.headers.get("Accept-Encoding", "").lower()
        if (
            response.status_code == 200
            and wants_gzip
            and (response.mimetype or "").startswith(COMPRESSIBLE)
            and "Content-Encoding" not in response.headers
            and "Range" not in request.headers
        ):
            await files.compress(filename, response)
        return response
