"""Labelled sentence pairs for reward models: JCM minimal pairs, pair files, pair accuracy.

JCM stores a minimal pair on consecutive rows, one ``wrong`` (label 1) and one ``not wrong``
(label 0) variant of the same situation (:func:`culturealign.data.records.mark_minimal_pairs`);
neighbours with the same label are discarded, as the study does. In a pair the ``not wrong``
sentence is *chosen*, the ``wrong`` one *rejected*.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from culturealign.data.records import JudgementSet
from culturealign.errors import CultureAlignError
from culturealign.evaluation.metrics import Estimate, bootstrap


class SentencePair(NamedTuple):
    chosen: str  # the "not wrong" sentence (or the preferred response)
    rejected: str
    id: str
    prompt: str = ""


def minimal_pairs(data: JudgementSet) -> list[SentencePair]:
    """Every opposite-label minimal pair of ``data``, in file order; unpaired rows are dropped."""
    groups: dict[int, list] = {}
    for item in data.items:
        if item.pair is not None:
            groups.setdefault(item.pair, []).append(item)
    pairs = []
    for members in groups.values():
        if len(members) != 2 or members[0].label == members[1].label:
            continue
        ok, wrong = sorted(members, key=lambda j: j.label)
        pairs.append(SentencePair(ok.text, wrong.text, f"{ok.id}|{wrong.id}"))
    if not pairs:
        raise CultureAlignError(
            f"{data.name}/{data.split} has no opposite-label minimal pairs",
            "use JCM, or a file whose consecutive rows pair a wrong and a not-wrong sentence",
        )
    return pairs


def jcm_pairs(split: str, path: Path | None = None) -> list[SentencePair]:
    from culturealign.data.judgements import load_jcm

    return minimal_pairs(load_jcm(split, path))


def read_pair_file(path: Path) -> list[SentencePair]:
    """A JSONL of ``{"chosen", "rejected"[, "prompt", "id"]}`` rows (the prefs format works)."""
    if not path.is_file():
        raise CultureAlignError(f"pair file not found: {path}", "check the path")
    pairs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            chosen, rejected = row["chosen"], row["rejected"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CultureAlignError(
                f"{path}:{n}: not a pair row ({exc})",
                'each line needs {"chosen": "...", "rejected": "..."}',
            ) from exc
        if not (isinstance(chosen, str) and isinstance(rejected, str) and chosen and rejected):
            raise CultureAlignError(f"{path}:{n}: empty chosen/rejected", "fix or drop the row")
        pairs.append(
            SentencePair(chosen, rejected, str(row.get("id", n)), str(row.get("prompt") or ""))
        )
    if not pairs:
        raise CultureAlignError(f"{path} has no pairs", "check the file is complete")
    return pairs


class PairAccuracy(NamedTuple):
    accuracy: Estimate
    n_pairs: int
    ties: int


def pair_accuracy(
    chosen: Sequence[float], rejected: Sequence[float], seed: int = 0
) -> PairAccuracy:
    """Share of pairs whose chosen reward is strictly higher; a tie counts half (our choice).

    A tie is neither a win nor a loss; counting it as 0.5 keeps a constant scorer at 0.5
    (chance) instead of 0. The CI is the project's seeded percentile bootstrap over pairs.
    """
    c, r = np.asarray(chosen, dtype=float), np.asarray(rejected, dtype=float)
    if c.shape != r.shape or c.size == 0:
        raise ValueError("need equally many chosen and rejected rewards, at least one")
    wins = np.where(c > r, 1.0, np.where(c == r, 0.5, 0.0))
    est = bootstrap(lambda x, axis=-1: np.mean(x, axis=axis), wins, seed=seed)
    return PairAccuracy(est, int(c.size), int(np.sum(c == r)))
