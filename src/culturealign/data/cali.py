"""Culturally aware NLI (CALI; Huang & Yang, Findings of EMNLP 2023).

2,228 premise/hypothesis pairs, each labelled entail / neutral / contradict by annotators
from the United States and from India (``shared/data/culturally_aware_nli/SOURCE.md``). The
file is tab-separated without any quoting, and 150 premises contain double quotes, so it is
split on tabs by hand: the csv module reads 2,197 rows from it.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from culturealign.data.sources import RemoteFile, locate, sha256_of
from culturealign.errors import CultureAlignError

CALI = RemoteFile(
    "culturally_aware_nli/data.tsv",
    "https://raw.githubusercontent.com/SALT-NLP/CulturallyAwareNLI/"
    "155651ef7eb5e579ee5554f1945971b61218a2f6/data/data.tsv",
)
HEADER = ("premise", "hypothesis", "us_ratings", "in_ratings")
GROUPS: dict[str, str] = {"US": "the United States", "IN": "India"}  # CultureBank CULTURE_MAP
LABELS = {"E": "entail", "N": "neutral", "C": "contradict"}


@dataclass(frozen=True, slots=True)
class NLIItem:
    """One pair with each group's annotator labels (E/N/C, in the file's order)."""

    id: str
    premise: str
    hypothesis: str
    ratings: dict[str, tuple[str, ...]]  # group ("US" | "IN") -> labels

    def majority(self, group: str) -> str:
        """``Counter.most_common(1)``: ties go to the label seen first, as in the original."""
        return LABELS[Counter(self.ratings[group]).most_common(1)[0][0]]


@dataclass(frozen=True)
class NLISet:
    name: str
    items: list[NLIItem]
    source: str
    sha256: str
    notes: list[str]

    def __len__(self) -> int:
        return len(self.items)

    def unique_pairs(self) -> NLISet:
        """One item per (premise, hypothesis), the last row winning and first order kept.

        CultureBank's ``cultural_nli.py`` stores rows in ``dict[premise][hypothesis]``, which
        collapses the 4 duplicated pairs this way (2,228 rows -> 2,224 scored items).
        """
        last = {(it.premise, it.hypothesis): it for it in self.items}
        note = f"duplicate pairs collapsed: {len(self.items)} -> {len(last)} items"
        return NLISet(self.name, list(last.values()), self.source, self.sha256, [*self.notes, note])

    def head(self, limit: int | None) -> NLISet:
        if limit is None or limit >= len(self.items):
            return self
        note = f"limited to the first {limit} items"
        return NLISet(self.name, self.items[:limit], self.source, self.sha256, [*self.notes, note])


def _ratings(cell: str, where: str) -> tuple[str, ...]:
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError) as exc:
        raise CultureAlignError(f"{where}: ratings {cell[:40]!r} are not a list", None) from exc
    if not isinstance(value, list) or not value or any(v not in LABELS for v in value):
        raise CultureAlignError(f"{where}: ratings must be a non-empty list of E/N/C", None)
    return tuple(value)


def parse_cali(text: str, origin: str = "data.tsv") -> list[NLIItem]:
    """Split each line on tabs (no CSV quoting: quotes inside premises are literal)."""
    lines = text.splitlines()
    if not lines or tuple(lines[0].split("\t")) != HEADER:
        raise CultureAlignError(
            f"{origin}: header is not {chr(9).join(HEADER)!r}",
            "give the data.tsv of SALT-NLP/CulturallyAwareNLI",
        )
    items = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(HEADER):
            raise CultureAlignError(f"{origin}:{n}: {len(cells)} tab-separated fields, expected 4")
        where = f"{origin}:{n}"
        ratings = {"US": _ratings(cells[2], where), "IN": _ratings(cells[3], where)}
        items.append(NLIItem(f"cali-{n - 1}", cells[0], cells[1], ratings))
    return items


def load_cali(data_dir: Path | None = None) -> NLISet:
    """All 2,228 rows of CALI in file order (see :meth:`NLISet.unique_pairs`)."""
    path = locate(CALI, data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CultureAlignError(f"cannot read {path}: {exc}", "re-download the file") from exc
    items = parse_cali(text, str(path))
    return NLISet("cali", items, CALI.url, sha256_of(path), [])
