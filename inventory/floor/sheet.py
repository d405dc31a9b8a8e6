"""The running list of a count in progress, kept in the staff user's session until it is posted.

One sheet per location: the counted quantity of each variant scanned (newest scan last) and every code
that matched nothing, with how many times it was scanned, so that an unknown code is shown to the user
and kept until they deal with it, never dropped. Nothing here touches stock: the list becomes stock only
when it is posted through `inventory.services.counts` (see views.post_count).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from inventory.models import Variant
from inventory.services.rules import MAX_QUANTITY

SESSION_KEY = "floor_counts"
# A session row holds the list; past this many lines a count is better posted in parts.
MAX_LINES = 2000
MAX_CODE_LENGTH = 128


class SheetError(ValueError):
    """A scan or an edit the sheet refuses, with a message for the user."""


@dataclass
class CountSheet:
    location_id: int
    lines: dict[int, int] = field(default_factory=dict)  # variant id -> counted, oldest scan first
    unknown: dict[str, int] = field(default_factory=dict)  # code -> times scanned

    @classmethod
    def load(cls, session, location_id: int) -> CountSheet:
        stored = session.get(SESSION_KEY, {}).get(str(location_id), {})
        return cls(location_id=location_id,
                   lines={int(variant_id): int(counted) for variant_id, counted in stored.get("lines", [])},
                   unknown={str(code): int(scans) for code, scans in stored.get("unknown", [])})

    def save(self, session) -> None:
        sheets = dict(session.get(SESSION_KEY, {}))
        if self.lines or self.unknown:
            sheets[str(self.location_id)] = {"lines": [[v, c] for v, c in self.lines.items()],
                                             "unknown": [[c, n] for c, n in self.unknown.items()]}
        else:
            sheets.pop(str(self.location_id), None)
        session[SESSION_KEY] = sheets  # a new dict, so the session knows it changed

    @staticmethod
    def in_progress(session) -> dict[int, int]:
        """Location id -> number of lines, for every sheet the session holds."""
        return {int(loc): len(sheet.get("lines", [])) + len(sheet.get("unknown", []))
                for loc, sheet in session.get(SESSION_KEY, {}).items()}

    @property
    def total_units(self) -> int:
        return sum(self.lines.values())

    def add(self, variant_id: int, quantity: int) -> int:
        """Add `quantity` to the variant's line (a new line if it has none) and move it to the top."""
        if variant_id not in self.lines and len(self.lines) >= MAX_LINES:
            raise SheetError(f"This count already has {MAX_LINES} lines: post it, then count the rest.")
        counted = self.lines.pop(variant_id, 0) + quantity
        if counted > MAX_QUANTITY:
            self.lines[variant_id] = counted - quantity
            raise SheetError(f"A counted quantity can be at most {MAX_QUANTITY}.")
        self.lines[variant_id] = counted
        return counted

    def set(self, variant_id: int, counted: int) -> None:
        if variant_id not in self.lines:
            raise SheetError("That line is no longer on the list.")
        self.lines[variant_id] = counted

    def remove(self, variant_id: int) -> None:
        self.lines.pop(variant_id, None)

    def add_unknown(self, code: str) -> int:
        if code not in self.unknown and len(self.unknown) >= MAX_LINES:
            raise SheetError(f"{MAX_LINES} unknown codes are already listed: deal with those first.")
        self.unknown[code] = self.unknown.pop(code, 0) + 1
        return self.unknown[code]

    def forget(self, code: str) -> None:
        self.unknown.pop(code, None)

    def digest(self) -> str:
        """Fingerprint of the lines, so that the count posted is the one the user reviewed."""
        payload = json.dumps(sorted(self.lines.items()), separators=(",", ":"))
        return hashlib.sha256(f"{self.location_id}:{payload}".encode()).hexdigest()[:32]


def parse_quantity(raw: str | None, *, minimum: int, default: int | None = None) -> int:
    """A whole number from `minimum` to MAX_QUANTITY typed by the user; blank gives `default`."""
    text = (raw or "").strip()
    if not text:
        if default is None:
            raise SheetError("Type a quantity.")
        return default
    try:
        value = int(text)
    except ValueError:
        raise SheetError(f"'{text[:20]}' is not a whole number.") from None
    if not minimum <= value <= MAX_QUANTITY:
        raise SheetError(f"The quantity must be from {minimum} to {MAX_QUANTITY}.")
    return value


def clean_code(raw: str | None) -> str:
    # Scanners may add a trailing tab or CR; people add spaces.
    code = (raw or "").strip()
    if not code:
        raise SheetError("Scan or type a barcode or SKU.")
    if len(code) > MAX_CODE_LENGTH:
        raise SheetError(f"A code is at most {MAX_CODE_LENGTH} characters.")
    return code


def find_variant(code: str) -> Variant | None:
    """The live variant a scanned code names: its SKU exactly (the unique index), else the SKU in any case
    (scanners often send upper case). Barcode labels carry the SKU; there is no separate barcode field."""
    live = Variant.objects.filter(deleted_at__isnull=True).select_related("product")
    found = live.filter(sku=code).first()
    if found is None:
        matches = list(live.filter(sku__iexact=code)[:2])
        found = matches[0] if len(matches) == 1 else None
    return found
