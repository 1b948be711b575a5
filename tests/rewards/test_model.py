"""The generic sequence-classification reward-model path, on a tiny BERT built from a config."""

from __future__ import annotations

import pytest

from culturealign.errors import CultureAlignError
from culturealign.rewards.model import load_reward_model


def test_scores_pairs_with_pair_encoding(tiny_bert_rm):
    rm = load_reward_model(tiny_bert_rm, device="cpu")
    assert rm.pair_encoding
    batch = rm.texts(["he did help"], ["it was good"])
    assert batch["token_type_ids"].sum() > 0  # the answer is segment 1, as a (q, a) RM expects
    scores = rm.score(["he did help", "she hit"], ["it was good", "it was bad"])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
    # Length-sorted batching returns scores in input order.
    one = rm.score(["she hit"], ["it was bad"])
    assert one[0] == pytest.approx(scores[1], abs=1e-5)


def test_sentence_feeds_differ_and_are_documented(tiny_bert_rm):
    rm = load_reward_model(tiny_bert_rm, device="cpu")
    sents = ["he stole it", "he gave it"]
    as_answer = rm.score_sentences(sents, "answer")
    as_question = rm.score_sentences(sents, "question")
    single = rm.score_sentences(sents, "single")
    assert as_answer != as_question and as_answer != single
    with pytest.raises(CultureAlignError, match="unknown sentence feed"):
        rm.score_sentences(sents, "both")  # type: ignore[arg-type]


def test_bad_reward_model_paths(tmp_path, tiny_bert_rm):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CultureAlignError, match="neither"):
        load_reward_model(tmp_path / "empty")
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(tiny_bert_rm, num_labels=3)
    AutoModelForSequenceClassification.from_config(config).save_pretrained(tmp_path / "cls3")
    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (tiny_bert_rm / f).is_file():
            (tmp_path / "cls3" / f).write_bytes((tiny_bert_rm / f).read_bytes())
    with pytest.raises(CultureAlignError, match="3 output labels"):
        load_reward_model(tmp_path / "cls3")
