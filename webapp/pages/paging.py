"""Pages of a long list (pure): which rows a page holds, and the links around it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

PAGE_SIZE = 50
MAX_PAGE = 100_000  # past any list an admin pages through; keeps OFFSET small and the number sane


def page_number(raw: str | None) -> int:
    """The ``page`` query parameter: a positive whole number, anything else is page 1."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        return 1
    return min(max(int(text), 1), MAX_PAGE)


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, within [1, last] (a page past the end shows the last one)
    size: int
    total: int  # rows in the whole list

    @classmethod
    def of(cls, number: int, total: int, size: int = PAGE_SIZE) -> Page:
        return cls(min(max(number, 1), max(1, -(-total // size))), size, total)

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first_row(self) -> int:
        """1-based position of the page's first row (0 for an empty list)."""
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.last else None


def page_url(path: str, filters: dict[str, str], number: int | None = None) -> str:
    """``path`` with the filters that are set (empty ones left out) and the page (1 left out),
    so a reload or a shared link shows the same rows."""
    params = {k: v for k, v in filters.items() if v}
    if number and number > 1:
        params["page"] = str(number)
    return f"{path}?{urlencode(params)}" if params else path
