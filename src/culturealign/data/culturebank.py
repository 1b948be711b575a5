"""CultureBank (Shi et al., 2024): cultural behaviours from TikTok and Reddit, with the
grounded-evaluation question of each (``eval_scenario``, ``eval_persona``, ``eval_question``)
and its knowledge paragraph (``eval_whole_desc``).

``shared/data/culturebank`` holds the first 1,000 rows of each release file (sorted by cultural
group, so ~98% American: not a representative sample, see its SOURCE.md); the full files
download from the Hugging Face dataset ``SALT-NLP/CultureBank`` (``full=True``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from culturealign.data.sources import RemoteFile, locate, sha256_of
from culturealign.errors import CultureAlignError

_FORK = (
    "https://raw.githubusercontent.com/Quennar-Inc/CultureBank/"
    "43d6036d5e8e246a055fffebd2d5cbf91579ec3c/data_process_pipeline/dummy_data/"
)
_HF = "https://huggingface.co/datasets/SALT-NLP/CultureBank/resolve/main/"
SUBSETS = {
    "reddit": RemoteFile("culturebank/reddit_subset.csv", _FORK + "reddit_subset.csv"),
    "tiktok": RemoteFile("culturebank/tiktok_subset.csv", _FORK + "tiktok_subset.csv"),
}
FULL = {
    "reddit": RemoteFile("culturebank/culturebank_reddit.csv", _HF + "culturebank_reddit.csv"),
    "tiktok": RemoteFile("culturebank/culturebank_tiktok.csv", _HF + "culturebank_tiktok.csv"),
}
REQUIRED = ("cultural group", "topic", "eval_whole_desc")


@dataclass(frozen=True)
class CultureBankRow:
    """One cultural behaviour: its group, topic, knowledge paragraph and released question."""

    id: str  # "<source>-<row index>" (the release has no cluster_id column)
    group: str
    topic: str
    knowledge: str  # eval_whole_desc
    behaviour: dict[str, str]  # context, actor, actor_behavior, ... as released
    scenario: str = ""
    persona: str = ""
    question: str = ""


@dataclass(frozen=True)
class CultureBankSet:
    rows: list[CultureBankRow]
    source: str
    sha256: str
    notes: list[str]


FIELDS: tuple[str, ...] = ("context", "goal", "relation", "actor", "actor_behavior", "recipient")
FIELDS += ("recipient_behavior", "other_descriptions", "agreement")


def load_culturebank(
    source: str = "reddit", full: bool = False, data_dir: Path | None = None
) -> CultureBankSet:
    """The rows of one CultureBank file (``source`` reddit or tiktok), in file order."""
    files = FULL if full else SUBSETS
    if source not in files:
        raise CultureAlignError(f"unknown CultureBank source {source!r}", "use reddit or tiktok")
    path = locate(files[source], data_dir)
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise CultureAlignError(
                f"{path}: no column {', '.join(missing)}", "give a CultureBank release CSV"
            )
        rows = [
            CultureBankRow(
                f"{source}-{i}",
                r["cultural group"],
                r["topic"],
                r["eval_whole_desc"],
                {k: r.get(k, "") for k in FIELDS if r.get(k)},
                r.get("eval_scenario", ""),
                r.get("eval_persona", ""),
                r.get("eval_question", ""),
            )
            for i, r in enumerate(reader)
        ]
    notes = (
        [] if full else ["head-1000 sample of the release, ~98% American (not the paper's split)"]
    )
    return CultureBankSet(rows, files[source].url, sha256_of(path), notes)
