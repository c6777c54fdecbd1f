"""What an admin's driver search matches (pure): a name, plate or phone, however typed.

"b-hx 303", "BHX303" and "hx 30" all find plate B-HX 303; "5550101" and "+49 30 555 0101"
find phone +49 30 5550101; "#12" (or "12") finds driver 12.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_QUERY = 100


@dataclass(frozen=True)
class SearchTerms:
    text: str  # as typed (trimmed): a part of a name, a plate or a phone, any case
    digits: str | None  # its digits alone, for phones typed with other spacing (3 or more)
    plate: str | None  # its letters and digits alone, upper case, for plates typed without dashes
    driver_id: int | None  # "#12" or "12"

    @classmethod
    def parse(cls, raw: str) -> SearchTerms | None:
        """None for an empty search (everyone)."""
        text = " ".join(raw.split())[:MAX_QUERY]
        if not text:
            return None
        digits = re.sub(r"[^0-9]", "", text)
        plate = re.sub(r"[^A-Z0-9]", "", text.upper())
        id_text = text.removeprefix("#")
        driver_id = int(id_text) if id_text.isascii() and id_text.isdigit() and len(id_text) <= 18 else None
        return cls(text, digits if len(digits) >= 3 else None, plate or None, driver_id)
