"""Static files are compressed for clients that accept it, and cached as long as their URL
names their content (?v=<hash>, or a versioned vendor folder)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def test_pages_link_versioned_assets_that_browsers_keep_for_a_year(client):
    page = (await client.get("/login")).text
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', page)
    assert css, "the page links its stylesheet with a content version"
    res = await client.get(css.group(1), headers={"Accept-Encoding": "gzip"})
    assert res.status_code == 200
    assert res.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert res.headers["content-encoding"] == "gzip" and "Accept-Encoding" in res.headers["vary"]
    original = (ROOT / "static/css/app.css").read_bytes()
    assert res.content == original  # httpx undoes the gzip: the same bytes
    assert int(res.headers["content-length"]) == len(gzip.compress(original, 6, mtime=0)) < len(original) / 2


async def test_an_old_or_missing_version_is_revalidated_not_kept(client):
    for url in ("/static/css/app.css", "/static/css/app.css?v=000000000000"):
        res = await client.get(url)
        assert res.headers["cache-control"] == "no-cache", url
        assert res.headers.get("etag")
        again = await client.get(url, headers={"If-None-Match": res.headers["etag"]})
        assert again.status_code == 304, url


async def test_vendor_folders_are_versioned_by_name(client):
    res = await client.get("/static/vendor/htmx-2.0.11/htmx.min.js", headers={"Accept-Encoding": "gzip, br"})
    assert res.status_code == 200
    assert res.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert res.headers["content-encoding"] == "gzip"


async def test_no_gzip_for_clients_that_do_not_ask_nor_for_images(client):
    plain = await client.get("/static/css/app.css", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == (ROOT / "static/css/app.css").read_bytes()
    pngs = sorted((ROOT / "static").rglob("*.png"))
    if pngs:
        image = await client.get("/static/" + pngs[0].relative_to(ROOT / "static").as_posix())
        assert image.status_code == 200 and "content-encoding" not in image.headers


async def test_a_missing_file_is_still_a_404(client):
    res = await client.get("/static/css/nope.css?v=abc")
    assert res.status_code == 404
