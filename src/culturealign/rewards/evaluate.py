"""``rm-eval --task jcm-pairs``: the study's reward-model check on JCM minimal pairs.

Each sentence of a pair is scored alone (fed as ``--sentence-as`` says); accuracy is the share
of pairs where the ``not wrong`` sentence gets the higher reward, with a bootstrap CI. Jinnai
(2024) reports 0.692 for ``OpenAssistant/reward-model-deberta-v3-large-v2`` (split not stated;
we report the named split, ``test`` by default). Scores go to a work log as they are computed,
so an interrupted run resumes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from culturealign.paths import atomic_path
from culturealign.rewards.model import RewardModel, SentenceFeed
from culturealign.rewards.pairs import SentencePair, pair_accuracy
from culturealign.rewards.worklog import WorkLog

PAPER_ACCURACY = 0.692  # Jinnai (2024), OpenAssistant/reward-model-deberta-v3-large-v2 on JCM


def eval_pairs(
    rm: RewardModel,
    pairs: list[SentencePair],
    out: Path,
    feed: SentenceFeed = "answer",
    batch_size: int = 32,
    split: str = "test",
    on_batch: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score every pair (resuming from ``out/scores.jsonl``), write ``out/rm_eval.json``."""
    settings = {"reward_model": rm.name, "feed": feed, "split": split, "n_pairs": len(pairs)}
    log = WorkLog(out / "scores.jsonl", settings)
    todo = [p for p in pairs if p.id not in log.done]
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        texts = [p.chosen for p in chunk] + [p.rejected for p in chunk]
        scores = rm.score_sentences(texts, feed, batch_size=2 * batch_size)
        n = len(chunk)
        log.append(
            {"key": p.id, "chosen": scores[i], "rejected": scores[n + i]}
            for i, p in enumerate(chunk)
        )
        if on_batch:
            on_batch(len(pairs) - len(todo) + start + n, len(pairs))
    done = [log.done[p.id] for p in pairs]
    acc = pair_accuracy([r["chosen"] for r in done], [r["rejected"] for r in done])
    result = {
        **settings,
        "accuracy": acc.accuracy.value,
        "ci_low": acc.accuracy.low,
        "ci_high": acc.accuracy.high,
        "ties": acc.ties,
        "paper_accuracy_openassistant": PAPER_ACCURACY,
        "ci_excludes_paper": not (acc.accuracy.low <= PAPER_ACCURACY <= acc.accuracy.high),
    }
    with atomic_path(out / "rm_eval.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result
