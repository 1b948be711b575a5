"""Record types shared by every dataset of a task kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Language = Literal["ja", "en"]

WRONG, NOT_WRONG = 1, 0


@dataclass(frozen=True, slots=True)
class Judgement:
    """One sentence to judge. ``label`` is 1 when the action is morally wrong, 0 when it is not."""

    id: str
    text: str
    label: int
    pair: int | None = None  # minimal-pair index: both members share it


@dataclass(frozen=True)
class JudgementSet:
    """A split of a judgement dataset plus what is needed to cite it in a result."""

    name: str
    split: str
    language: Language
    items: list[Judgement]
    source: str
    sha256: str
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def head(self, limit: int | None) -> JudgementSet:
        """The first ``limit`` items (all of them when ``limit`` is None)."""
        if limit is None or limit >= len(self.items):
            return self
        return JudgementSet(
            self.name,
            self.split,
            self.language,
            self.items[:limit],
            self.source,
            self.sha256,
            [*self.notes, f"limited to the first {limit} items"],
        )


def mark_minimal_pairs(items: list[Judgement]) -> list[Judgement]:
    """Pair consecutive rows with opposite labels, scanning greedily from the top.

    JCM stores most items as minimal pairs on consecutive rows (one wrong, one permissible
    variant of the same situation); a row whose neighbour has the same label stays unpaired.
    """
    out: list[Judgement] = []
    i, pair = 0, 0
    while i < len(items):
        a = items[i]
        if i + 1 < len(items) and items[i + 1].label != a.label:
            b = items[i + 1]
            out += [
                Judgement(a.id, a.text, a.label, pair),
                Judgement(b.id, b.text, b.label, pair),
            ]
            pair += 1
            i += 2
        else:
            out.append(a)
            i += 1
    return out
