"""Static files: compressed, and cached by browsers as long as they can be.

- URLs made with ``url_for('static', ...)`` carry ``?v=<hash of the file>``: a changed file
  gets a new URL, so those answers (and everything under ``vendor/<name>-<version>/``,
  whose paths change with the version) may be kept for a year without asking again.
  Anything else is revalidated (ETag, 304) on each use.
- Our scripts are ES modules (static/js/, no build step) that import each other by relative
  paths. Such an import carries no ``?v=``, so each module is served with its imports
  rewritten to versioned URLs (``from "./lib/format.js?v=<hash>"``), and a module's hash
  covers every module it reaches: a change in lib/format.js gives every page script that
  imports it a new URL too. So the whole graph is kept for a year, and a page load asks for
  no module it already has (revalidating each import would cost a request per module per
  page). The rewritten text is made once per version and kept in memory, as the gzip is.
- Text answers (JS, CSS, SVG, JSON, maps) are gzipped for clients that accept it, once per
  file version, kept in memory: the control room's assets go from ~360 KB to ~100 KB, and
  /docs' Swagger UI from 1.9 MB to ~0.5 MB.

A reverse proxy or CDN in front may do the same; these headers are what it would honour.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import posixpath
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from quart import Quart, Response, current_app, g, request

log = logging.getLogger("hexfleet.web")

YEAR = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
MIN_COMPRESS_BYTES = 1024
# A static ES module import of a relative path: `from "./x.js"`, `import "../y.js"`.
MODULE_IMPORT = re.compile(rb"""(\bfrom\s*|\bimport\s*)(["'])(\.{1,2}/[^"'?#\s]+\.js)\2""")


def is_module(filename: str) -> bool:
    """Our own scripts are ES modules; vendored ones are left as they are."""
    return filename.endswith(".js") and not filename.startswith("vendor/")


def gzip_tag(tag: str) -> str:
    """The gzipped answer is another representation: another tag (weak, as a proxy makes)."""
    return f'W/"{tag.removeprefix("W/").strip(chr(34))}-gz"'


class StaticFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # filename → (mtime_ns, hash of its content, the modules it imports)
        self._files: dict[str, tuple[int, str, tuple[str, ...]]] = {}
        self._gzipped: dict[tuple[str, str], bytes] = {}  # (filename, version) → gzip body
        self._modules: dict[tuple[str, str], bytes] = {}  # (filename, version) → rewritten module

    def _read(self, filename: str) -> tuple[str, tuple[str, ...]] | None:
        """The file's content hash and imports, recomputed when its mtime changes."""
        try:
            path = (self.folder / filename).resolve()
            if not path.is_relative_to(self.folder) or not path.is_file():
                return None
            mtime = path.stat().st_mtime_ns
            known = self._files.get(filename)
            if known is None or known[0] != mtime:
                body = path.read_bytes()
                imports = tuple(_imported(filename, body)) if is_module(filename) else ()
                known = (mtime, hashlib.sha256(body).hexdigest()[:12], imports)
                self._files[filename] = known
        except OSError:  # a name the file system refuses (too long, say) names no file
            return None
        return known[1], known[2]

    def version(self, filename: str) -> str | None:
        """A short hash of the file's content; for a module, of every module it reaches too."""
        own = self._read(filename)
        if own is None or not own[1]:
            return own[0] if own else None
        hashes: dict[str, str] = {}
        todo = [filename]
        while todo:  # imports may form cycles: each file once
            name = todo.pop()
            if name in hashes:
                continue
            found = self._read(name)
            if found is None:
                continue  # a missing import: the browser reports it, the hash cannot
            hashes[name] = found[0]
            todo.extend(found[1])
        graph = "\n".join(f"{name} {digest}" for name, digest in sorted(hashes.items()))
        return hashlib.sha256(graph.encode()).hexdigest()[:12]

    def module_body(self, filename: str, version: str) -> bytes:
        """The module's text with each relative import pointing at its versioned URL."""
        key = (filename, version)
        body = self._modules.get(key)
        if body is None:
            raw = (self.folder / filename).read_bytes()

            def versioned(match: re.Match[bytes]) -> bytes:
                target = _resolve(filename, match.group(3).decode())
                target_version = self.version(target)
                if target_version is None:
                    return match.group(0)
                quote = match.group(2)
                return match.group(1) + quote + match.group(3) + b"?v=" + target_version.encode() + quote

            body = MODULE_IMPORT.sub(versioned, raw)
            self._modules[key] = body
        return body

    async def module_response(self, filename: str) -> Response | None:
        """An ES module, its imports versioned; its ETag is its version. None: no such file."""
        version = self.version(filename)
        if version is None:
            return None
        response = current_app.response_class(self.module_body(filename, version), mimetype="text/javascript")
        response.set_etag(version)
        return await response.make_conditional(request)

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


def _resolve(importer: str, specifier: str) -> str:
    """ "./lib/format.js" imported by "js/page.js" → "js/lib/format.js"."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))


def _imported(filename: str, body: bytes) -> list[str]:
    return [_resolve(filename, m.group(3).decode()) for m in MODULE_IMPORT.finditer(body)]


def install(app: Quart) -> None:
    assert app.static_folder is not None
    files = StaticFiles(Path(app.static_folder).resolve())
    send = cast(Callable[[str], Awaitable[Any]], app.view_functions["static"])

    async def static(filename: str):
        if is_module(filename):
            response = await files.module_response(filename)
            if response is not None:
                return response
        return await send(filename)

    app.view_functions["static"] = static

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
