"""Static files are compressed for clients that accept it, and cached as long as their URL
names their content (?v=<hash>, or a versioned vendor folder); ES modules import each other by
versioned URLs, so a page's whole module graph is cached that way."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import httpx

from webapp.static_files import StaticFiles

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


# ---------------------------------------------------------------- ES modules: versioned imports

IMPORTED = re.compile(r"""from\s*"(\.{1,2}/[^"]+)\"""")


async def test_page_modules_import_versioned_urls_kept_for_a_year(client):
    """Every import of a page's module graph names its content: nothing is asked for again."""
    page = (await client.get("/login")).text
    entry = re.search(r'<script type="module" src="(/static/js/page\.js\?v=[0-9a-f]{12})"', page)
    assert entry, "every page loads page.js as a versioned module"
    todo, seen = [entry.group(1)], set()
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        res = await client.get(url)
        assert res.status_code == 200, url
        assert res.headers["cache-control"] == "public, max-age=31536000, immutable", url
        assert res.headers["content-type"].startswith("text/javascript"), url
        specifiers = IMPORTED.findall(res.text)
        for specifier in specifiers:
            assert re.search(r"\?v=[0-9a-f]{12}$", specifier), f"{url} imports {specifier} unversioned"
            base = url.split("?")[0].rsplit("/", 1)[0]
            todo.append(str(httpx.URL(base + "/").join(specifier)))
    # page.js → lib/format.js → lib/currencies.js and lib/server-clock.js
    assert {u.split("?")[0] for u in seen} >= {
        "/static/js/page.js",
        "/static/js/lib/format.js",
        "/static/js/lib/currencies.js",
        "/static/js/lib/server-clock.js",
    }


async def test_an_unversioned_module_is_revalidated_and_its_etag_is_its_version(client):
    res = await client.get("/static/js/lib/format.js")
    assert res.headers["cache-control"] == "no-cache"
    assert 'from "./currencies.js?v=' in res.text  # its imports are versioned all the same
    again = await client.get("/static/js/lib/format.js", headers={"If-None-Match": res.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    gzipped = await client.get("/static/js/lib/format.js", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip" and gzipped.text == res.text
    after_gzip = await client.get(
        "/static/js/lib/format.js", headers={"Accept-Encoding": "gzip", "If-None-Match": gzipped.headers["etag"]}
    )
    assert after_gzip.status_code == 304


def _tree(folder: Path, files: dict[str, str]) -> StaticFiles:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return StaticFiles(folder.resolve())


def test_a_module_version_changes_with_anything_it_reaches(tmp_path):
    files = _tree(
        tmp_path,
        {
            "js/page.js": 'import { a } from "./lib/a.js";\n',
            "js/lib/a.js": 'import { b } from "./b.js";\nexport const a = b;\n',
            "js/lib/b.js": "export const b = 1;\n",
            "js/other.js": "export const other = 1;\n",
        },
    )
    page, a, b = files.version("js/page.js"), files.version("js/lib/a.js"), files.version("js/other.js")
    body = files.module_body("js/page.js", page).decode()
    assert body == f'import {{ a }} from "./lib/a.js?v={a}";\n'
    # Two levels down changes: the module, its importer and the page get new URLs.
    (tmp_path / "js/lib/b.js").write_text("export const b = 2;\n")
    assert files.version("js/lib/a.js") != a and files.version("js/page.js") != page
    assert files.version("js/other.js") == b  # what does not reach it keeps its URL
    assert (
        f'"./lib/a.js?v={files.version("js/lib/a.js")}"'
        in files.module_body("js/page.js", files.version("js/page.js")).decode()
    )


def test_import_cycles_and_missing_imports_still_get_a_version(tmp_path):
    files = _tree(
        tmp_path,
        {
            "js/x.js": 'import { y } from "./y.js";\nimport "./gone.js";\nexport const x = 1;\n',
            "js/y.js": 'import { x } from "./x.js";\nexport const y = 2;\n',
        },
    )
    x, y = files.version("js/x.js"), files.version("js/y.js")
    assert x and y
    body = files.module_body("js/x.js", x).decode()
    assert f'"./y.js?v={y}"' in body and 'import "./gone.js";' in body  # left for the browser to report
    (tmp_path / "js/y.js").write_text('import { x } from "./x.js";\nexport const y = 3;\n')
    assert files.version("js/x.js") != x
