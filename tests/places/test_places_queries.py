"""Places in the real PostgreSQL: typo-tolerant and prefix search, ranking by distance, the
all-or-nothing upsert of an import, and what the label index reads."""

from __future__ import annotations

import dataclasses

import pytest

from hexfleet.devtools.demo import DEMO_PLACES
from hexfleet.errors import Conflict, NotFound
from hexfleet.places import queries, ranking
from hexfleet.places.rules import PlaceIn

CENTRE = (52.52, 13.405)


@pytest.fixture
async def places(pool):
    await pool.execute("TRUNCATE places RESTART IDENTITY")
    async with pool.acquire() as conn:
        await queries.add_missing_places(conn, DEMO_PLACES)
    return pool


async def search(pool, text: str, near=CENTRE, limit: int = 5, include_inactive: bool = False) -> list[str]:
    async with pool.acquire() as conn:
        candidates = await queries.search_places(conn, text, near, include_inactive=include_inactive)
    return [r.place.name for r in ranking.rank(candidates, text, near, limit)]


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("Alexandrplatz", "Alexanderplatz"),  # a letter missing
        ("alexanderplatz", "Alexanderplatz"),
        ("Hauptbanhof", "Berlin Hauptbahnhof"),  # a letter missing, in an alias
        ("Brandenburger Tr", "Brandenburger Tor"),
        ("Charite", "Charité Campus Mitte"),  # an alias without the accent
        ("Hbf", "Berlin Hauptbahnhof"),  # an alias, exactly
        ("Bran", "Brandenburger Tor"),  # the start of a name
        ("gate", "Brandenburger Tor"),  # a word of an alias
        ("Adlon", "Hotel Adlon Kempinski"),  # a word of the name
        ("depot", "hexfleet Depot Moabit"),
    ],
)
async def test_typo_tolerant_and_prefix_search(places, typed, first):
    found = await search(places, typed)
    assert found and found[0] == first, found


async def test_exact_name_before_a_nearer_prefix(places):
    # "Alexanderplatz" the square is the exact name; the station's name holds it as a word.
    assert (await search(places, "Alexanderplatz"))[:2] == ["Alexanderplatz", "Bahnhof Alexanderplatz"]


async def test_nearest_first_among_equal_matches(places):
    terminal_2 = (52.36716, 13.51389)
    assert (await search(places, "BER Ter", near=terminal_2))[:2] == ["BER Terminal 2", "BER Terminal 1"]
    terminal_1 = (52.36548, 13.50999)
    assert (await search(places, "BER Ter", near=terminal_1))[:2] == ["BER Terminal 1", "BER Terminal 2"]


async def test_no_query_lists_the_nearest(places):
    near_alex = (52.5219, 13.4130)
    assert (await search(places, "", near=near_alex, limit=3)) == [
        "Alexanderplatz", "Park Inn by Radisson Alexanderplatz", "Bahnhof Alexanderplatz",
    ]  # fmt: skip


async def test_unrelated_text_finds_nothing(places):
    assert await search(places, "Zzyzx Qwerty") == []
    assert await search(places, "%") == []  # a LIKE wildcard is text here
    assert await search(places, "_") == []


async def test_inactive_places_are_searched_only_when_asked(places):
    async with places.acquire() as conn:
        [hbf] = [p for p, _ in await queries.search_places(conn, "hbf", CENTRE)]
        await queries.update_place(conn, hbf.id, dataclasses.replace(hbf.as_input(), active=False))
        labelled = {p.name for p in await queries.active_for_labels(conn)}
    assert "Berlin Hauptbahnhof" not in await search(places, "Hauptbahnhof")
    assert (await search(places, "Hauptbahnhof", include_inactive=True))[0] == "Berlin Hauptbahnhof"
    assert "Berlin Hauptbahnhof" not in labelled and len(labelled) == len(DEMO_PLACES) - 1


async def test_insert_update_delete_and_names_unique_whatever_the_case(places):
    new = PlaceIn("Tegel Depot", "depot", "", 52.55, 13.29, ("North depot",))
    async with places.acquire() as conn:
        saved = await queries.insert_place(conn, new)
        assert (await queries.get_place(conn, saved.id)).as_input() == new
        with pytest.raises(Conflict) as taken:
            await queries.insert_place(conn, dataclasses.replace(new, name="TEGEL depot"))
        assert taken.value.code == "place-name-taken"
    async with places.acquire() as conn:
        before, after = await queries.update_place(conn, saved.id, dataclasses.replace(new, lat=52.56))
        assert before.lat == 52.55 and after.lat == 52.56 and after.updated_at >= before.updated_at
        _, same_after = await queries.update_place(conn, saved.id, after.as_input())
        assert same_after.updated_at == after.updated_at  # nothing changed, nothing written
        with pytest.raises(Conflict):
            await queries.update_place(conn, saved.id, dataclasses.replace(new, name="alexanderplatz"))
    async with places.acquire() as conn:
        assert (await queries.delete_place(conn, saved.id)).name == "Tegel Depot"
        for missing in (queries.get_place(conn, saved.id), queries.delete_place(conn, saved.id)):
            with pytest.raises(NotFound):
                await missing
        with pytest.raises(NotFound):
            await queries.update_place(conn, 10**15, new)


async def test_upsert_adds_updates_and_leaves_the_same_alone(places):
    changed = dataclasses.replace(DEMO_PLACES[0], name=DEMO_PLACES[0].name.upper(), address="New address")
    same = DEMO_PLACES[1]
    fresh = PlaceIn("Tegel Depot", "depot", "", 52.55, 13.29)
    async with places.acquire() as conn:
        added, updated = await queries.upsert_places(conn, [changed, same, fresh])
        stored = {p.name: p for p in await queries.all_places(conn)}
    assert (added, updated) == (["Tegel Depot"], ["BERLIN HAUPTBAHNHOF"])
    assert stored["BERLIN HAUPTBAHNHOF"].address == "New address"  # the import's spelling, too
    assert "Berlin Hauptbahnhof" not in stored and len(stored) == len(DEMO_PLACES) + 1


async def test_demo_places_are_added_once(places):
    async with places.acquire() as conn:
        assert await queries.add_missing_places(conn, DEMO_PLACES) == []
        assert len(await queries.all_places(conn)) == len(DEMO_PLACES)


async def test_list_pages_by_name_with_a_total(places):
    async with places.acquire() as conn:
        first, total = await queries.list_places(conn, limit=5)
        second, _ = await queries.list_places(conn, limit=5, offset=5)
        past, past_total = await queries.list_places(conn, limit=5, offset=500)
        found, found_total = await queries.list_places(conn, "hotel", limit=5)
    assert total == past_total == len(DEMO_PLACES) and past == []
    names = [p.name for p in first + second]
    assert names == sorted(names, key=str.lower) and len(set(names)) == 10
    assert found_total == 2 and {p.name for p in found} == {"Hotel Adlon Kempinski", "Hotel de Rome"}


async def test_seed_demo_adds_the_demo_places_once_and_keeps_an_admins_edits(places, database_url):
    from hexfleet.devtools.demo import seed_demo

    async with places.acquire() as conn:
        [alex] = [p for p in await queries.all_places(conn) if p.name == "Alexanderplatz"]
        await queries.update_place(conn, alex.id, dataclasses.replace(alex.as_input(), address="Edited"))
        hbf = next(p for p in await queries.all_places(conn) if p.name == "Berlin Hauptbahnhof")
        await queries.delete_place(conn, hbf.id)
    said: list[str] = []
    await seed_demo(database_url, log=said.append)
    assert "1 demo places added" in said  # the deleted one, back
    await seed_demo(database_url, log=said.append)
    async with places.acquire() as conn:
        stored = {p.name: p for p in await queries.all_places(conn)}
    assert len(stored) == len(DEMO_PLACES) == 21
    assert stored["Alexanderplatz"].address == "Edited"
    assert {p.category for p in stored.values()} >= {"airport", "station", "hotel", "hospital", "depot", "landmark"}
