"""The CultureSPA score recomputed from the released Llama-3-8B-Instruct answers.

SOURCE.md of shared/data/culturespa records what CultureSPA's released analysis script
(``result_analysis_run_3.py``) prints for run 0 of the released answers: culture-unaware AVG
62.36 and culture-aware (P1) AVG 66.61. These are not numbers from a table of the paper (the
paper averages 3 runs, and only run 0's answers are released).
"""

from __future__ import annotations

import statistics

import pytest

from culturealign.data.wvs import load_culturespa_wvs, load_released_answers
from culturealign.evaluation.wvs_metrics import culturespa_country_scores, parse_first_integer

pytestmark = pytest.mark.needs_data


def _scores(setting_of) -> dict[str, float]:
    survey = load_culturespa_wvs()
    answers = {
        c: {q: parse_first_integer(a) for q, a in load_released_answers(setting_of(c)).items()}
        for c in survey.countries
    }
    return culturespa_country_scores(survey.questions, answers)


def test_culture_unaware_matches_the_released_scripts_run0_average():
    scores = _scores(lambda c: "culture_unaware")
    assert len(scores) == 18
    assert round(statistics.fmean(scores.values()) * 100, 2) == 62.36
    assert round(scores["USA"] * 100, 2) == 68.34
    assert round(scores["CAN"] * 100, 2) == 70.91
    assert round(scores["NGA"] * 100, 2) == 52.05


def test_culture_aware_matches_the_released_scripts_run0_average():
    scores = _scores(lambda c: f"culture_aware_{c}")
    assert round(statistics.fmean(scores.values()) * 100, 2) == 66.61
    assert round(scores["USA"] * 100, 2) == 71.12
    assert round(scores["ZWE"] * 100, 2) == 65.53
