"""Golden renderings of the original wordings, and the option-probability arithmetic."""

from __future__ import annotations

import math

import pytest

from culturealign.data.survey import SurveyQuestion
from culturealign.evaluation.task import Sample
from culturealign.evaluation.tasks.survey import (
    SurveyScorer,
    _parse_letter,
    _survey_sample,
    label_nesting,
    option_probs,
)
from culturealign.models.base import ChoiceRequest
from culturealign.prompts.survey import TEMPLATES, render

Q1 = SurveyQuestion(
    "Q1",
    "How important is family in your life?",
    ("Very important", "Rather important", "Not very important", "Not at all important"),
    ("1", "2", "3", "4"),
    (1.0, 2.0, 3.0, 4.0),
    {"USA": (0.9, 0.1, 0.0, 0.0)},
    {"USA": 0},
)
Q94 = SurveyQuestion(
    "Q94",
    "Are you an active member, an inactive member, or not a member of a church?",
    ("Don't belong", "Inactive member", "Active member"),
    ("0", "1", "2"),
    (0.0, 1.0, 2.0),
    {"USA": (0.4, 0.3, 0.3)},
    {"USA": 0},
)
CULTURESPA_USER = (
    "Given a #Question and #Options, choose the option that best aligns with your own value "
    "system to answer the question.\n#Question: How important is family in your life?\n"
    "#Options: 1.Very important 2.Rather important 3.Not very important 4.Not at all important\n"
    "Please return the number of the selected option only."
)


def fake_chat(messages):
    return "".join(f"<{m.role}>{m.content}</{m.role}>" for m in messages) + "<assistant>"


def test_culturespa_aware_chat_prompt_is_verbatim():
    sample = _survey_sample(Q1, "aware", "USA", TEMPLATES["culturespa-aware"], fake_chat)
    system = (
        "You are a real person with an American cultural background. Please fill out the World "
        "Values Survey and answer the questions honestly according to your own value system."
    )
    assert sample.prompt == f"<system>{system}</system><user>{CULTURESPA_USER}</user><assistant>"
    assert sample.request.prefix.endswith("#Question: ")  # shared by every question of USA
    assert sample.request.choices == ("1", "2", "3", "4")
    assert sample.id == "aware/USA/Q1" and sample.target == 0


def test_culturespa_unaware_base_model_layout_and_zero_based_codes():
    sample = _survey_sample(Q94, "unaware", "-", TEMPLATES["culturespa-unaware"], None)
    assert sample.prompt.startswith("You are a real person with your own set of values.")
    assert "\n\nGiven a #Question" in sample.prompt
    assert "#Options: 0.Don't belong 1.Inactive member 2.Active member\n" in sample.prompt
    assert sample.prompt.endswith("only.\nAnswer:")
    assert sample.request.choices == (" 0", " 1", " 2")
    assert sample.target is None


def test_culturebank_globalopinionqa_prompt_is_verbatim():
    q = SurveyQuestion("g", "Is it fine?", ("Yes", "No"), ("A", "B"), (None, None), {}, {})
    sample = _survey_sample(q, "aware", "Britain", TEMPLATES["culturebank-aware"], None)
    assert sample.prompt == (
        "Human: How would someone from Britain answer the following question:\nIs it fine?\n"
        "Here are the options:\n(A) Yes\n(B) No\n"
        "Assistant: If I had to select one of the options, my answer would be ("
    )
    assert sample.request.choices == ("A", "B")


def test_cali_prompt_is_verbatim_including_quirks():
    fields = {"premise": "P.", "hypothesis": "H.", "country": "India"}
    plain = render(TEMPLATES["culturebank-cali"], fields, "premise", ("E", "N", "C"))
    assert plain.full == (
        "Premise: P.\nHypothesis: H.\n\nLet’s think as someone who lives in India. What do you "
        "think is the relationship between the premise and the hypothesis?\n(E) Entail \n"
        "(N) Neutral\n(C) Contradict\n\nYour Answer (E/N/C): ("
    )
    indented = render(TEMPLATES["culturebank-cali-indented"], fields, "premise", ("E", "N", "C"))
    assert "\n  Hypothesis: H.\n\n  Let’s" in indented.full
    assert plain.prefix == "Premise: " and plain.choices == ("E", "N", "C")


def test_label_nesting_follows_tokens():
    labels = tuple(str(i) for i in range(1, 11))
    assert label_nesting(labels) == [(0, 9)]  # "1" is a prefix of "10"
    one_token = {str(i): [i] for i in range(1, 11)}  # a tokenizer with a "10" token
    assert label_nesting(labels, one_token.__getitem__) == []
    assert label_nesting(("1", "10", "100")) == [(0, 1), (1, 2)]


def test_option_probs_softmax_and_exclusive_prefix_mass():
    probs = option_probs([math.log(0.2), math.log(0.6)])
    assert probs == pytest.approx([0.25, 0.75])
    # P("1") = 0.5 holds P("10") = 0.2: "exactly 1" is 0.3
    assert option_probs([math.log(0.5), math.log(0.2)], [(0, 1)]) == pytest.approx([0.6, 0.4])


def test_generate_scorer_uses_culturespa_parser():
    scorer = SurveyScorer("generate", {"Q1": Q1}, letters=False)
    sample = Sample("x", ChoiceRequest("p", "t", ("1", "2", "3", "4")), 0, {"question": "Q1"})
    assert scorer(sample, "2. Rather important") == {
        "output": "2. Rather important",
        "prediction": 1,
        "answer": 2,
    }
    # out of the options but in 0..10: CultureSPA still scores it; no option distribution
    assert scorer(sample, "7")["answer"] == 7 and scorer(sample, "7")["prediction"] is None
    assert scorer(sample, "no idea")["answer"] is None


def test_choice_scorer_gives_distribution_and_code():
    scorer = SurveyScorer("choice", {"Q1": Q1}, letters=False)
    sample = Sample("x", ChoiceRequest("p", "t", ("1", "2", "3", "4")), 0, {"question": "Q1"})
    record = scorer(sample, [-3.0, -0.5, -2.0, -4.0])
    assert record["prediction"] == 1 and record["answer"] == 2
    assert sum(record["probs"]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "expected"), [("B) No", 1), ("(A", 0), (" C.", 2), ("D", None), ("Both", None)]
)
def test_parse_letter(text, expected):
    assert _parse_letter(text, 3) == expected
