"""The outcome vocabulary: every outcome a cell can have, as one row of a table.

The plugin decides a check's outcome, records store its name, the report shows its symbol, colour
and meaning, the diff classifies a change by its ``standing``, merge marks a cell reported with
two outcomes ``flaky``. Nothing else spells an outcome's properties: they are read from here.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Outcome = Literal[
    "pass",
    "expected-fail",
    "fail",
    "unexpected-pass",
    "timeout",
    "error",
    "skipped",
    "n/a",
    "flaky",
    "not-run",
]
Colour = Literal["green", "yellow", "red", "grey"]
"""Renderer-neutral: the terminal and the HTML report each map it to their own style."""
Standing = Literal["ideal", "documented", "unexpected", "xpass", "inapplicable", "absent"]
"""What the outcome says about the cell, which is what a diff compares:

- ``ideal``: the ideal behaviour holds;
- ``documented``: a documented deviation, observed exactly;
- ``unexpected``: neither (an unexpected failure, a timeout, a crash, two outcomes at once);
- ``xpass``: a documented deviation that did not happen;
- ``inapplicable``: the check does not apply here (or did not run);
- ``absent``: no record has the cell.
"""


class OutcomeRow(NamedTuple):
    name: Outcome
    symbol: str
    colour: Colour
    standing: Standing
    meaning: str
    recorded: bool = True
    """Whether a record may hold it (``not-run`` is what the table says of a missing cell)."""

    @property
    def red(self) -> bool:
        """A red cell means the table or Flask changed: someone must look at it."""
        return self.standing in ("unexpected", "xpass")

    @property
    def fine(self) -> bool:
        """The ideal, or exactly what is documented: an upgrade that leaves this is no regression."""
        return self.standing in ("ideal", "documented")

    @property
    def notes_inform(self) -> bool:
        """Notes on such a cell inform; they are not its verdict, so a diff ignores them."""
        return self.standing in ("ideal", "inapplicable")


OUTCOMES: dict[Outcome, OutcomeRow] = {
    row.name: row
    for row in (
        OutcomeRow("pass", "✓", "green", "ideal", "the ideal behaviour holds"),
        OutcomeRow(
            "expected-fail",
            "✗",
            "yellow",
            "documented",
            "documented deviation: the ideal does not hold; the note says what happens instead, "
            "why, and the upstream source",
        ),
        OutcomeRow(
            "fail",
            "FAIL",
            "red",
            "unexpected",
            "unexpected failure: neither the ideal nor a documented deviation (a red cell)",
        ),
        OutcomeRow(
            "unexpected-pass",
            "XPASS",
            "red",
            "xpass",
            "a documented deviation did not occur: the ideal holds now (update the expectations)",
        ),
        OutcomeRow(
            "timeout",
            "TIMEOUT",
            "red",
            "unexpected",
            "the check did not finish within its bound; the server was restarted",
        ),
        OutcomeRow("error", "ERROR", "red", "unexpected", "the check itself crashed or the server failed"),
        # An en dash on purpose: it reads as "nothing here".
        OutcomeRow("skipped", "–", "grey", "inapplicable", "skipped"),  # noqa: RUF001
        OutcomeRow(
            "flaky",
            "FLAKY",
            "red",
            "unexpected",
            "the same cell was reported with different outcomes (merged runs): not trustworthy",
        ),
        OutcomeRow(
            "n/a",
            "n/a",
            "grey",
            "inapplicable",
            "the check cannot apply here (e.g. an API this Flask does not have yet); the note says why",
        ),
        OutcomeRow("not-run", "·", "grey", "absent", "no record for this cell", recorded=False),
    )
}
"""Every outcome, in legend order."""

RECORDED: frozenset[str] = frozenset(name for name, row in OUTCOMES.items() if row.recorded)
"""The outcome names a record may hold."""
