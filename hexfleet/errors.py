"""Domain errors: each carries an HTTP status and a short machine code.

The web layer turns them into problem+json (API) or a readable message (pages);
the CLI prints ``str(error)``. Raise them where the rule lives, handle them once.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        # More members for the problem+json body (e.g. the booking's current status on a 409).
        self.extra: dict = {}
        # Response headers (e.g. Retry-After on a 429).
        self.headers: dict[str, str] = {}
        if code:
            self.code = code
        if status:
            self.status = status


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class TooManyRequests(DomainError):
    status = 429
    code = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_s: float) -> None:
        super().__init__(detail)
        self.retry_after_s = max(1, round(retry_after_s))
        self.headers = {"Retry-After": str(self.retry_after_s)}
        self.extra = {"retry_after": self.retry_after_s}


class Invalid(DomainError):
    status = 422
    code = "invalid"
    title = "Invalid input"
