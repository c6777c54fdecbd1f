"""The admin's driver and account lists: search, filters and pages that the URL keeps, and
empty states that say which empty it is (real app, signed-in admin browser)."""

from __future__ import annotations

import re

import pytest
from helpers import browser_login, make_user

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.search import SearchTerms
from webapp.pages.paging import PAGE_SIZE, Page, page_number, page_url

HX = {"HX-Request": "true"}


# ---------------------------------------------------------------- the rules (pure)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", 1),
        (None, 1),
        ("3", 3),
        ("0", 1),
        ("-2", 1),
        ("2.5", 1),
        ("x", 1),
        ("٣", 1),
        ("9" * 7, 1),
        ("999999", 100_000),
    ],
)
def test_page_number(raw, expected):
    assert page_number(raw) == expected


@pytest.mark.parametrize(
    ("number", "total", "size", "shown", "rows", "previous", "next_"),
    [
        (1, 0, 50, 1, (0, 0), None, None),  # empty: one empty page
        (1, 7, 50, 1, (1, 7), None, None),
        (2, 120, 50, 2, (51, 100), 1, 3),
        (3, 120, 50, 3, (101, 120), 2, None),
        (9, 120, 50, 3, (101, 120), 2, None),  # past the end: the last page
        (1, 50, 50, 1, (1, 50), None, None),
        (2, 51, 50, 2, (51, 51), 1, None),
    ],
)
def test_pages(number, total, size, shown, rows, previous, next_):
    page = Page.of(number, total, size)
    assert page.number == shown and (page.first_row, page.last_row) == rows
    assert (page.previous, page.next) == (previous, next_)
    assert page.offset == (shown - 1) * size


@pytest.mark.parametrize(
    ("filters", "number", "expected"),
    [
        ({"q": "", "show": ""}, 1, "/admin/drivers"),
        ({"q": "ann lee", "show": "all"}, 1, "/admin/drivers?q=ann+lee&show=all"),
        ({"q": "a&b=c", "show": ""}, 3, "/admin/drivers?q=a%26b%3Dc&page=3"),
    ],
)
def test_page_urls_keep_the_filters(filters, number, expected):
    assert page_url("/admin/drivers", filters, number) == expected


@pytest.mark.parametrize(
    ("raw", "text", "digits", "plate", "driver_id"),
    [
        ("", None, None, None, None),
        ("   ", None, None, None, None),
        ("Ann", "Ann", None, "ANN", None),
        ("b-hx 303", "b-hx 303", "303", "BHX303", None),
        ("+49 30  555 0101", "+49 30 555 0101", "49305550101", "49305550101", None),
        ("#12", "#12", None, "12", 12),
        ("12", "12", None, "12", 12),
        ("100%_", "100%_", "100", "100", None),
    ],
)
def test_driver_search_terms(raw, text, digits, plate, driver_id):
    terms = SearchTerms.parse(raw)
    if text is None:
        assert terms is None
        return
    assert (terms.text, terms.digits, terms.plate, terms.driver_id) == (text, digits, plate, driver_id)


# ---------------------------------------------------------------- drivers


@pytest.fixture
async def admin(client, db):
    user, _ = await make_user(db, "admin", "boss@example.org")
    return await browser_login(client, user.email)


def driver_ids(html: str) -> list[int]:
    return [int(m) for m in re.findall(r'id="driver-row-(\d+)"', html)]


async def add(db, name: str, phone: str | None = None, plate: str | None = None) -> int:
    async with db.acquire() as conn:
        return (await driver_queries.create_driver(conn, name, phone, plate)).id


async def test_the_driver_list_finds_names_plates_and_phones_however_typed(client, db, admin):
    ann = await add(db, "Ann Lee", "+49 30 5550101", "B-HX 303")
    bob = await add(db, "Bob 100%", "+49 40 777", "HH-AB 1")
    await add(db, "Carla Diaz", None, None)
    for query, expected in (
        ("ann", [ann]), ("LEE", [ann]), ("bhx303", [ann]), ("b-hx 3", [ann]), ("hx 30", [ann]),
        ("5550101", [ann]), ("+49 30 555 0101", [ann]), ("+49", [ann, bob]), ("100%", [bob]), ("%", [bob]),
        (f"#{bob}", [bob]), ("nobody", []),
    ):  # fmt: skip
        page = await client.get("/admin/drivers", params={"q": query}, headers=admin)
        assert page.status_code == 200
        assert driver_ids(page.text) == expected, query
    found = (await client.get("/admin/drivers?q=ann", headers=admin)).text
    assert "1 driver matching “ann”" in found and 'value="ann"' in found  # the form keeps the search
    missing = (await client.get("/admin/drivers?q=zebra", headers=admin)).text
    assert "No driver matches “zebra”." in missing and 'href="/admin/drivers?q=zebra&amp;show=all"' in missing


async def test_deactivated_drivers_only_when_asked_and_the_refresh_keeps_the_filters(client, db, admin):
    kept = await add(db, "Kept Kim")
    gone = await add(db, "Gone Gus")
    async with db.acquire() as conn:
        await driver_queries.set_deactivated(conn, gone, True)
    assert driver_ids((await client.get("/admin/drivers", headers=admin)).text) == [kept]
    both = await client.get("/admin/drivers?show=all&q=g", headers=admin)
    assert driver_ids(both.text) == [gone]
    # After an add, the list refreshes itself with the same search and filter.
    assert 'hx-get="/admin/drivers/rows?q=g&amp;show=all"' in both.text
    rows = await client.get("/admin/drivers/rows?q=g&show=all", headers={**admin, **HX})
    assert driver_ids(rows.text) == [gone] and 'id="driver-count" hx-swap-oob="true">1 active driver<' in rows.text


async def test_the_driver_list_pages_and_its_links_keep_the_search(client, db, admin):
    ids = [await add(db, f"Paged Pat {n:03d}") for n in range(PAGE_SIZE + 5)]
    await add(db, "Someone Else")
    first = (await client.get("/admin/drivers?q=paged", headers=admin)).text
    assert driver_ids(first) == ids[:PAGE_SIZE]
    assert f"Drivers 1–{PAGE_SIZE} of {PAGE_SIZE + 5} matching “paged”" in first
    assert 'rel="next" href="/admin/drivers?q=paged&amp;page=2"' in first and "Page 1 of 2" in first
    second = (await client.get("/admin/drivers?q=paged&page=2", headers=admin)).text
    assert driver_ids(second) == ids[PAGE_SIZE:]
    assert 'rel="prev" href="/admin/drivers?q=paged"' in second
    assert driver_ids((await client.get("/admin/drivers?q=paged&page=99", headers=admin)).text) == ids[PAGE_SIZE:]


async def test_empty_fleets_say_what_to_do(client, db, admin):
    empty = (await client.get("/admin/drivers", headers=admin)).text
    assert "No drivers yet." in empty and "Add the first one above" in empty
    gone = await add(db, "Only One")
    async with db.acquire() as conn:
        await driver_queries.set_deactivated(conn, gone, True)
    none_active = (await client.get("/admin/drivers", headers=admin)).text
    assert "No active drivers." in none_active and 'href="/admin/drivers?show=all"' in none_active


# ---------------------------------------------------------------- accounts


def emails(html: str) -> list[str]:
    return re.findall(r"<strong>([^<]+@[^<]+)</strong>", html)


async def test_accounts_put_staff_apart_from_riders(client, db, admin):
    await make_user(db, "dispatcher", "desk@example.org")
    for n in range(3):
        await make_user(db, "customer", f"rider{n}@example.net")
    staff = (await client.get("/admin/users", headers=admin)).text
    assert emails(staff) == ["boss@example.org", "desk@example.org"]  # staff by default, admins first
    assert "2 staff accounts" in staff and '<option value="staff" selected>' in staff
    riders = (await client.get("/admin/users?role=customer", headers=admin)).text
    assert emails(riders) == [f"rider{n}@example.net" for n in range(3)] and "3 riders" in riders
    assert emails((await client.get("/admin/users?role=dispatcher", headers=admin)).text) == ["desk@example.org"]
    everyone = (await client.get("/admin/users?role=all&q=EXAMPLE.NET", headers=admin)).text
    assert emails(everyone) == [f"rider{n}@example.net" for n in range(3)]
    assert 'hx-get="/admin/users/rows?role=all&amp;q=EXAMPLE.NET"' in everyone  # the refresh keeps them
    assert emails((await client.get("/admin/users?role=nonsense", headers=admin)).text) == [
        "boss@example.org", "desk@example.org",
    ]  # fmt: skip
    rows = await client.get("/admin/users/rows?role=customer&q=rider1", headers={**admin, **HX})
    assert emails(rows.text) == ["rider1@example.net"]


async def test_account_search_is_literal_and_empty_states_say_where_to_look(client, db, admin):
    await make_user(db, "customer", "a_b@example.net")
    await make_user(db, "customer", "axb@example.net")
    assert emails((await client.get("/admin/users?role=customer&q=a_b", headers=admin)).text) == ["a_b@example.net"]
    none = (await client.get("/admin/users?q=example.net", headers=admin)).text  # riders, but staff asked
    assert "No staff accounts with “example.net” in the email." in none
    assert 'href="/admin/users?role=all&amp;q=example.net"' in none
    await client.get("/admin/users?role=customer", headers=admin)
    await db.execute("DELETE FROM users WHERE role = 'customer'")
    no_riders = (await client.get("/admin/users?role=customer", headers=admin)).text
    assert "No riders yet." in no_riders and 'href="/signup"' in no_riders


async def test_accounts_page_too(client, db, admin):
    made = [f"rider{n:03d}@example.net" for n in range(PAGE_SIZE + 2)]
    for email in made:
        await make_user(db, "customer", email)
    first = (await client.get("/admin/users?role=customer", headers=admin)).text
    assert emails(first) == made[:PAGE_SIZE] and f"Riders 1–{PAGE_SIZE} of {PAGE_SIZE + 2}" in first
    assert 'rel="next" href="/admin/users?role=customer&amp;page=2"' in first
    assert emails((await client.get("/admin/users?role=customer&page=2", headers=admin)).text) == made[PAGE_SIZE:]
