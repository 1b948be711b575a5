"""The judge on the embedded models: P(Yes), pairwise order swap, cache and resume."""

from __future__ import annotations

import math

import pytest

from culturealign.judging import ENGLISH, KNOWLEDGE_ENTAIL, Judge
from culturealign.judging.cache import JudgeCache

pytestmark = pytest.mark.needs_data

KNOWLEDGE = "In Japan, people commonly take off their shoes before entering a home."


def test_p_yes_judge_on_embedded_model(smollm, tmp_path):
    judge = Judge(smollm, 4, JudgeCache(tmp_path / "j.jsonl"))
    items = [
        {
            "response": "Take your shoes off at the entrance of a Japanese home.",
            "knowledge": KNOWLEDGE,
        },
        {"response": "Bananas are rich in potassium.", "knowledge": KNOWLEDGE},
    ]
    first = judge.yes_no(KNOWLEDGE_ENTAIL, items)
    for r in first:
        assert 0.0 < r["p_yes"] < 1.0
        assert math.isclose(r["p_yes"], math.exp(r["logprobs"][0]))
        assert 0.0 < r["p_yes_of_yes_no"] < 1.0
        assert "Entailment (Yes/No):" in r["judge_input"]
    # A new judge over the same cache file asks the model nothing and gives the same numbers.
    again = Judge(smollm, 4, JudgeCache(tmp_path / "j.jsonl"))
    calls = []
    again.model = _Counting(smollm, calls)
    assert again.yes_no(KNOWLEDGE_ENTAIL, items) == first
    assert not {"choice_logprobs", "generate"} & set(calls)


class _Counting:
    """Forwards to a real model and records which of its methods were called."""

    def __init__(self, model, calls):
        self._model, self._calls = model, calls

    def __getattr__(self, name):
        attr = getattr(self._model, name)
        if callable(attr):
            self._calls.append(name)
        return attr


def test_pairwise_asks_both_orders(smollm):
    judge = Judge(smollm, 6)
    [result] = judge.pairwise(
        ENGLISH["pair-v2"], [{"question": "What is 2+2?", "answer_x": "XX4", "answer_y": "YY5"}]
    )
    first, second = result["judge_inputs"]
    assert first.index("XX4") < first.index("YY5")  # x shown as assistant A
    assert second.index("YY5") < second.index("XX4")  # then as assistant B
    assert len(result["judgements"]) == 2 and len(result["verdicts"]) == 2
    assert result["winner"] in ("x", "y", "tie")


def test_single_judge_keeps_input_output_score(smollm, tmp_path):
    judge = Judge(smollm, 4, JudgeCache(tmp_path / "j.jsonl"), cue="Rating: [[")
    [r] = judge.single(ENGLISH["single-v1"], [{"question": "Name a fruit.", "answer": "Apple."}])
    assert r["judge_input"].endswith("Rating: [[")
    assert r["judgement"].startswith("Rating: [[")
    assert r["score"] == -1.0 or 0 <= r["score"]
    # the cache file holds the one generation, and a torn last line is dropped on reload
    path = tmp_path / "j.jsonl"
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"key": "torn", "outp')
    assert len(JudgeCache(path).entries) == 1
    assert path.read_text(encoding="utf-8").endswith("\n")
