"""What `sdl data add` (and `sdl data sync`) report: one outcome per input, the totals,
and the summary table the CLI prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rich.table import Table

Status = Literal["added", "unchanged", "rejected"]


class HasStatus(Protocol):
    @property
    def status(self) -> str: ...


class Tally:
    """Counts by status over `outcomes`; not ok when anything was rejected."""

    outcomes: Sequence[HasStatus]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        """False when anything was rejected: the CLI then exits non-zero."""
        return self.count("rejected") == 0


@dataclass
class Outcome:
    """What happened to one input."""

    source: str
    status: Status
    label: str = ""
    product: str = ""
    reason: str = ""


@dataclass
class AddResult(Tally):
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0


def summary_table(result: AddResult) -> Table:
    """Totals in the title; a row per input (only the rejected ones for big batches)."""
    table = Table(
        title=f"sdl data add: {result.count('added')} added, "
        f"{result.count('unchanged')} unchanged, {result.count('rejected')} "
        f"rejected in {result.seconds:.1f}s"
    )
    table.add_column("status")
    table.add_column("product")
    table.add_column("dataset")
    table.add_column("reason / source", overflow="fold")
    colours = {"added": "green", "unchanged": "dim", "rejected": "red"}
    rows = sorted(result.outcomes, key=lambda o: (o.status != "rejected", o.status, o.label))
    if len(rows) > 25:  # a big batch: only what needs attention
        rows = [o for o in rows if o.status == "rejected"]
    for o in rows:
        table.add_row(
            f"[{colours[o.status]}]{o.status}[/]", o.product, o.label, o.reason or o.source
        )
    return table
