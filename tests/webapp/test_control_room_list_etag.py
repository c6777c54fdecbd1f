"""The control room's 3 s list refresh costs nothing while only positions change (real app).

GET /ui/drivers answers with a strong ETag of its body and a 304 with no body when the browser
sends it back (static/js/control-room/list.js does, via htmx:configRequest). The rows carry no fix
times, so a fresh fix alone leaves the body, and so the ETag, as it was.
"""

from __future__ import annotations

import re

import pytest
from helpers import browser_login, make_driver, make_user, place_driver

from webapp.services import services

HX = {"HX-Request": "true"}
LIST = "/ui/drivers?q=&status=&sort=status&selected="
FLEET_SIZE = 50  # the demo's fleet


@pytest.fixture
async def desk(client, db):
    user, _ = await make_user(db, "dispatcher")
    return {**await browser_login(client, user.email), **HX}


@pytest.fixture
async def fleet(app, db):
    store = services(app).store
    drivers = []
    for i in range(FLEET_SIZE):
        driver, _ = await make_driver(db, f"Driver {i:02d}", f"B-HX {100 + i}")
        await place_driver(store, driver.id, 52.50 + i * 0.001, 13.40)
        drivers.append(driver)
    return drivers


async def test_an_unchanged_list_is_a_304_with_no_body(client, desk, fleet):
    first = await client.get(LIST, headers=desk)
    assert first.status_code == 200 and "Driver 00" in first.text
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # strong: no W/
    assert first.headers["Cache-Control"] == "private, no-cache"

    again = await client.get(LIST, headers={**desk, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    # Without the header (or with an old one) the list comes whole.
    assert (await client.get(LIST, headers=desk)).text == first.text
    stale = await client.get(LIST, headers={**desk, "If-None-Match": '"0123"'})
    assert stale.status_code == 200 and stale.text == first.text


async def test_new_positions_alone_change_nothing(app, client, desk, fleet):
    first = await client.get(LIST, headers=desk)
    store = services(app).store
    for i, driver in enumerate(fleet):  # every driver moves: new fix, new fix time
        await place_driver(store, driver.id, 52.50 + i * 0.001 + 0.0005, 13.401)
    moved = await client.get(LIST, headers={**desk, "If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 304 and moved.content == b""
    # The rows hold no fix time for the stream to contradict; the script fills the ages in.
    assert "datetime=" not in first.text and "data-now" not in first.text
    assert first.text.count('<time data-format="ago"></time>') == FLEET_SIZE


async def test_a_status_change_sends_the_new_rows(client, desk, fleet):
    first = await client.get(LIST, headers=desk)
    driver = fleet[7]
    r = await client.post(f"/ui/drivers/{driver.id}/status", data={"status": "busy"}, headers=desk)
    assert r.status_code == 200
    changed = await client.get(LIST, headers={**desk, "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    row = changed.text.split(f'data-driver-id="{driver.id}"', 1)[1].split("</li>", 1)[0]
    assert 'class="badge badge-busy"' in row
    assert 'data-count="busy">1<' in changed.text  # the counts, out of band, with it
    # ...and from then on that list is the unchanged one.
    again = await client.get(LIST, headers={**desk, "If-None-Match": changed.headers["ETag"]})
    assert again.status_code == 304


async def test_another_filter_or_selection_is_another_body(client, desk, fleet):
    first = await client.get(LIST, headers=desk)
    etag = {"If-None-Match": first.headers["ETag"]}
    busy = await client.get("/ui/drivers?q=&status=busy&sort=status&selected=", headers={**desk, **etag})
    assert busy.status_code == 200 and "No drivers match" in busy.text
    selected = await client.get(f"/ui/drivers?selected={fleet[3].id}", headers={**desk, **etag})
    assert selected.status_code == 200 and "is-selected" in selected.text
    # The same bytes under another query string are the same rows: still a 304.
    assert (await client.get("/ui/drivers", headers={**desk, **etag})).status_code == 304


async def test_the_page_carries_its_lists_etag_and_its_fix_times(client, desk, fleet):
    page = await client.get("/", headers={"Cookie": desk["Cookie"]})
    assert page.status_code == 200
    etag = re.search(r'id="driver-list"[^>]*data-etag="(&#34;|&quot;|")([0-9a-f]{32})', page.text).group(2)
    refresh = await client.get("/ui/drivers", headers={**desk, "If-None-Match": f'"{etag}"'})
    assert refresh.status_code == 304  # the first 3 s refresh sends nothing
    # The page itself shows the ages at once, before the script has the snapshot.
    assert page.text.count('data-format="ago">') == FLEET_SIZE
    assert re.search(r'data-format="ago">(\d+ s ago|just now)</time>', page.text)
    assert re.search(r'id="control-room" data-now="[^"]+"', page.text)
