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


# --- one spelling per contract: roles -----------------------------------------------------

ROLE_NAMES = {"admin", "dispatcher", "customer"}
# Where the role names are spelled: the Role enum, and the booking events' Actor enum (who did
# something to a booking; a role's name, and also "driver" and "system").
ROLE_HOMES = {"hexfleet/users/roles.py", "hexfleet/rides/states.py"}
ROLE_ALLOWED = {
    # Development tooling: demo logins and synthetic bookings.
    "hexfleet/devtools/": "development tooling",
    # The KPIs group cancellations by the stored actor, and name their own output keys.
    "hexfleet/analytics/kpis.py": "KPI output keys",
}


def _names_a_blueprint(path: Path, line: int) -> bool:
    return "Blueprint(" in path.read_text().splitlines()[line - 1]  # Blueprint("admin", ...): a name, no role


def test_role_names_are_spelled_only_in_their_enums():
    stray = [
        f"{name}:{line}: {text!r}"
        for name, path in _modules(*PACKAGES)
        if name not in ROLE_HOMES and not _allowed(name, ROLE_ALLOWED)
        for line, text in _strings(path)
        if text in ROLE_NAMES and not _names_a_blueprint(path, line)
    ]
    assert stray == [], "use hexfleet.users.roles (Role, STAFF, RIDERS, ROLES):\n" + "\n".join(stray)


# In templates: a quoted role name inside {{ }} or {% %} (templates have Role and STAFF_ROLES).
JINJA = re.compile(r"{[{%](.*?)[}%]}", re.S)
QUOTED_ROLE = re.compile(r"""["'](admin|dispatcher|customer)["']""")


def test_templates_compare_roles_with_the_enum():
    stray = [
        f"{path.relative_to(ROOT)}: {block.strip()[:80]!r}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for block in JINJA.findall(path.read_text())
        if QUOTED_ROLE.search(block)
    ]
    assert stray == [], "compare with Role.ADMIN / STAFF_ROLES:\n" + "\n".join(stray)


def test_the_role_guards_see_a_role():
    assert QUOTED_ROLE.search(JINJA.findall('{% if user.role == "admin" %}')[0])
    assert not JINJA.findall('<main class="admin">')


# --- the enums and the database's CHECK constraints agree ------------------------------


def _checked_values(column: str, table_hint: str) -> set[str]:
    """The values a migration's CHECK (column IN (...)) allows, in the CREATE TABLE of ``table_hint``."""
    sql = "\n".join(p.read_text() for p in sorted((ROOT / "migrations").glob("*.sql")))
    table = sql[sql.index(f"CREATE TABLE {table_hint}") :]
    found = re.search(rf"\b{column}\b[^,]*?CHECK \({column} IN \(([^)]*)\)\)", table, re.S)
    assert found, f"no CHECK on {table_hint}.{column}"
    return set(re.findall(r"'([^']+)'", found.group(1)))


def test_enums_match_the_database():
    from hexfleet.audit.actions import LABELS, Action
    from hexfleet.drivers.vehicles import VEHICLE_CLASSES, VehicleClass
    from hexfleet.rides.states import OfferStatus
    from hexfleet.users.roles import ROLES, Role

    assert set(Role) == set(ROLES) == _checked_values("role", "users")
    assert set(VehicleClass) == set(VEHICLE_CLASSES) == _checked_values("vehicle_class", "fares")
    assert set(OfferStatus) == _checked_values("status", "offers")
    assert set(LABELS) == set(Action)  # every action has its words in the log
