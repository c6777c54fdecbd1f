"""Guards for "one home per contract": each test scans the source, so a second spelling or a
stray query fails here instead of drifting quietly."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hexfleet", "streaming", "workers", "webapp")


def _modules(*packages: str):
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path


def _strings(path: Path):
    """Every string literal of the module (f-string parts included) with its line, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


# --- SQL lives in queries.py ----------------------------------------------------------

# Statements as we write them: keywords in capitals, followed by what makes them SQL.
SQL = re.compile(
    r"\b(SELECT\s+[\w*(]|INSERT\s+INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b|CREATE\s+(TABLE|INDEX|DATABASE)\b"
    r"|ALTER\s+TABLE\b|DROP\s+(TABLE|DATABASE)\b|TRUNCATE\b|NOTIFY\s|EXPLAIN\b|VACUUM\b)"
)

SQL_ALLOWED = {
    # The migrations runner keeps its own bookkeeping table and lock, before any domain exists.
    "hexfleet/migrate.py": "migrations runner",
    # Development tooling (throwaway databases, synthetic data for benches): not in production.
    "hexfleet/devtools/": "development tooling",
    # /readyz's connectivity probe (SELECT 1) touches no table.
    "webapp/ops.py": "readiness probe",
}


def _allowed(name: str, allowed: dict[str, str]) -> bool:
    return any(name == a or (a.endswith("/") and name.startswith(a)) for a in allowed)


def test_sql_lives_only_in_queries_modules():
    stray = [
        f"{name}:{line}: {text.strip()[:60]!r}"
        for name, path in _modules(*PACKAGES)
        if path.name != "queries.py" and not _allowed(name, SQL_ALLOWED)
        for line, text in _strings(path)
        if SQL.search(text)
    ]
    assert stray == [], "SQL outside a queries.py (move it into its domain's queries.py):\n" + "\n".join(stray)


def test_the_sql_guard_sees_sql():
    # The guard would pass on anything if the pattern matched nothing.
    assert SQL.search("SELECT id FROM drivers WHERE id = $1")
    assert SQL.search("UPDATE bookings SET status = $2")
    assert SQL.search("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
    assert not SQL.search("Select a driver from the list")
    assert not SQL.search("Delete expired sessions")
    assert any(SQL.search(text) for _, text in _strings(ROOT / "hexfleet/audit/queries.py"))


# --- the web app reaches its services through one typed object --------------------------

# Quart's app.extensions (not the ASGI scope's "extensions" key, which webapp/serving.py uses).
APP_EXTENSIONS = re.compile(r"\b(current_app|app|quart_app)\.extensions\b")


def test_webapp_reaches_services_only_through_the_services_object():
    stray = [
        f"{name}:{n}: {line.strip()}"
        for name, path in _modules("webapp")
        if name != "webapp/services.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if APP_EXTENSIONS.search(line)
    ]
    assert stray == [], "use webapp.services.services() instead of app.extensions:\n" + "\n".join(stray)


def test_the_extensions_guard_sees_a_string_key():
    assert APP_EXTENSIONS.search('pool = current_app.extensions["db"]')
    assert APP_EXTENSIONS.search("self.quart_app.extensions.get('ingest')")
    assert not APP_EXTENSIONS.search('request.scope.get("extensions", {})')
