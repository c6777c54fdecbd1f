"""Every setting does something: a Settings field that nothing reads promises what does not exist.

A field counts as read when the code outside hexfleet/settings.py reads it as an attribute
(``settings.port``), or calls a Settings method that reads it (``settings.filter_rules()``),
or a Procfile or deploy file expands its variable (``${WEB_CONCURRENCY}``). A RATE_* field is
read when some code spends from its rule (``limiter.retry_after("public", ...)`` or
``.enforce(...)``): the limiter holds every rule, used or not. Mentions in comments, docs or
strings (the README above all) do not count.
"""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

import pytest

from hexfleet.settings import ROOT, Settings

SOURCES = ("hexfleet", "webapp", "streaming", "workers", "Procfile", "deploy")
SETTINGS_FILE = ROOT / "hexfleet" / "settings.py"


def _files() -> list[Path]:
    found: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        if path.is_file():
            found.append(path)
        else:
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts)
    return [p for p in found if p != SETTINGS_FILE and p.suffix != ".pyc"]


def _reads() -> tuple[set[str], set[str], str]:
    """(attribute names read, rate rules spent from, text of the non-Python files)."""
    attributes: set[str] = set()
    spent: set[str] = set()
    shell: list[str] = []
    for path in _files():
        text = path.read_text(errors="replace")
        if path.suffix != ".py":
            shell.append(text)
            continue
        for node in ast.walk(ast.parse(text, str(path))):
            if isinstance(node, ast.Attribute):
                attributes.add(node.attr)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("retry_after", "enforce")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                spent.add(node.args[0].value)
    return attributes, spent, "\n".join(shell)


def _method_reads() -> dict[str, set[str]]:
    """Each Settings method → the fields it reads from self."""
    tree = ast.parse(SETTINGS_FILE.read_text())
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings"]
    return {
        fn.name: {
            n.attr
            for n in ast.walk(fn)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"
        }
        for fn in cls.body
        if isinstance(fn, ast.FunctionDef)
    }


def unused(attributes: set[str], spent: set[str], shell: str, methods: dict[str, set[str]]) -> list[str]:
    """The env names of the settings that none of these reads uses."""
    found = []
    for f in fields(Settings):
        env = f.metadata["env"]
        if f.name.startswith("rate_"):
            used = f.name.removeprefix("rate_") in spent
        else:
            used = (
                f.name in attributes
                # from_env calls some methods only to validate; a method counts when used elsewhere.
                or any(f.name in read and method in attributes for method, read in methods.items())
                or re.search(r"\$\{?" + env + r"\b", shell) is not None
            )
        if not used:
            found.append(env)
    return found


def test_every_setting_is_read_somewhere():
    attributes, spent, shell = _reads()
    assert unused(attributes, spent, shell, _method_reads()) == [], (
        "settings nothing reads: wire them or remove them (and their README rows)"
    )


@pytest.mark.parametrize(
    ("attributes", "spent", "shell", "env", "used"),
    [
        (set(), set(), "", "PORT", False),
        ({"port"}, set(), "", "PORT", True),
        ({"filter_rules"}, set(), "", "FILTER_MAX_SPEED_KMH", True),  # through a Settings method
        ({"map_center"}, set(), "", "FILTER_MAX_SPEED_KMH", False),
        (set(), {"public"}, "", "RATE_PUBLIC", True),
        ({"rate_public", "rate_rules"}, {"ingest"}, "", "RATE_PUBLIC", False),  # parsed is not spent
        (set(), set(), "--workers ${WEB_CONCURRENCY:-1}", "WEB_CONCURRENCY", True),
        (set(), set(), "--workers $WEB_CONCURRENCY", "WEB_CONCURRENCY", True),
        (set(), set(), "Environment=WEB_CONCURRENCY=1", "WEB_CONCURRENCY", False),  # set, never read
    ],
)
def test_what_counts_as_a_read(attributes, spent, shell, env, used):
    assert (env not in unused(attributes, spent, shell, _method_reads())) is used
