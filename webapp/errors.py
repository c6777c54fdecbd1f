"""Handle errors once: problem+json for the API, a readable page or partial otherwise."""

from __future__ import annotations

import logging
import re

import asyncpg
import redis.exceptions
from quart import Quart, render_template, request
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from hexfleet.errors import DomainError
from streaming.producer import ProduceFailed
from webapp.ingest import RateLimited
from webapp.problems import CONTENT_TYPE, TITLES, problem_body

log = logging.getLogger("hexfleet.web")


# Raised when PostgreSQL or Redis cannot be reached (refused, reset, timed out, restarting).
_DOWN = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    # A pooled connection the server dropped in the middle of a query: "cannot switch to
    # state …; another operation is in progress" on its next use (seen when PostgreSQL was
    # killed under load). The pool discards it; the caller retries later.
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def is_service_down(error: BaseException) -> bool:
    while error is not None:
        if isinstance(error, _DOWN):
            return True
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return False


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


# Paths that carry a secret (tracking links, driver sign-in links): never written to a log as they are.
_SECRET_PATHS = re.compile(r"^(/t/|/api/v1/track/|/d/login/)[^/]+")


def loggable_path(path: str) -> str:
    return _SECRET_PATHS.sub(r"\1<token>", path)


def _wants_problem() -> bool:
    return request.path.startswith(("/api/", "/osmand", "/owntracks")) or (
        "application/json" in request.headers.get("Accept", "") and "HX-Request" not in request.headers
    )


def problem(status: int, detail: str, code: str | None = None, headers: dict | None = None, **extra):
    return (
        problem_body(status, detail, code, **extra),
        status,
        {"Content-Type": CONTENT_TYPE.decode(), **(headers or {})},
    )


async def _page(status: int, title: str, detail: str, headers: dict | None = None):
    template = "_error.html" if "HX-Request" in request.headers else "error.html"
    html = await render_template(template, status=status, title=title, detail=detail)
    return html, status, headers or {}


async def respond(
    status: int,
    detail: str,
    code: str | None = None,
    headers: dict | None = None,
    page_detail: str | None = None,
    **extra,
):
    """problem+json for API clients, a page (or htmx partial) for browsers, worded for people
    when ``page_detail`` is given; both keep the headers (Retry-After above all)."""
    if _wants_problem():
        return problem(status, detail, code, headers, **extra)
    return await _page(status, TITLES.get(status, "Error"), page_detail or detail, headers)


def register(app: Quart) -> None:
    @app.errorhandler(DomainError)
    async def domain_error(error: DomainError):
        return await respond(error.status, error.detail, error.code, error.headers or None, **error.extra)

    @app.errorhandler(RequestSchemaValidationError)
    async def schema_error(error: RequestSchemaValidationError):
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in getattr(error.validation_error, "errors", list)()
        ) or str(error.validation_error)
        return problem(422, detail, "invalid")

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException):
        status = error.code or 500
        detail = (error.description or "") if status != 404 else f"nothing at {request.path}"
        return await respond(status, detail)

    @app.errorhandler(RateLimited)
    async def too_many_pings(error: RateLimited):
        return await respond(
            429, str(error), "rate-limited", {"Retry-After": str(error.retry_after_s)}, retry_after=error.retry_after_s
        )

    @app.errorhandler(ProduceFailed)
    async def broker_down(error: ProduceFailed):
        log.warning("%s %s: 503, broker unavailable (%s)", request.method, loggable_path(request.path), error)
        return await respond(
            503, "the message broker is unavailable; retry shortly", "broker-unavailable", {"Retry-After": "2"}
        )

    @app.errorhandler(asyncpg.CharacterNotInRepertoireError)
    async def unstorable_text(error: asyncpg.CharacterNotInRepertoireError):
        # Text PostgreSQL cannot hold (a NUL character) that a form's own checks let through: the
        # client's input, so a 422 it can read, not a 500. Forms should refuse it first; this is
        # the net under those that do not (the admin's driver form did not).
        return await respond(422, "the input holds a character that cannot be stored (NUL): remove it", "invalid")

    @app.errorhandler(Exception)
    async def unexpected(error: Exception):
        if is_service_down(error):
            # PostgreSQL or Redis away: a clear 503 the client can retry, not a 500.
            log.warning("%s %s: 503, %s", request.method, loggable_path(request.path), describe(error))
            return await respond(
                503,
                "a backing service is unavailable; retry shortly",
                "service-unavailable",
                {"Retry-After": "5"},
                page_detail="Part of hexfleet is briefly unavailable. Please try again in a few seconds.",
            )
        log.exception("unhandled error on %s %s", request.method, loggable_path(request.path))
        return await respond(500, "something went wrong on our side; it has been logged")
