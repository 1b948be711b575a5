"""The before/after table on the release's own answers (unaware vs aware = a known gain)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from culturealign.culturespa.evaluate import compare, table_markdown
from culturealign.data.wvs import load_culturespa_wvs
from culturealign.evaluation.wvs_metrics import parse_first_integer
from tests.culturespa.conftest import released_answers

COUNTRIES = ["USA", "CAN", "NGA", "ZWE"]


def _items(path, setting_of):
    with path.open("w") as fh:
        for c in COUNTRIES:
            for row in released_answers(setting_of(c)):
                answer = parse_first_integer(row["answer"])
                fh.write(
                    json.dumps({"question": row["Q_id"], "country": c, "answer": answer}) + "\n"
                )
    return path


def test_table_reproduces_the_released_scores_and_gain(tmp_path):
    survey = load_culturespa_wvs(countries=COUNTRIES)
    runs = {
        "unaware": _items(tmp_path / "u.jsonl", lambda c: "culture_unaware"),
        "aware": _items(tmp_path / "a.jsonl", lambda c: f"culture_aware_{c}"),
    }
    result = compare(survey, runs, "unaware")
    u, a = result["models"]["unaware"], result["models"]["aware"]
    # SOURCE.md, computed from these files with the released metric.
    assert u["per_country"]["USA"]["value"] == pytest.approx(68.34, abs=0.01)
    assert u["per_country"]["NGA"]["value"] == pytest.approx(52.05, abs=0.01)
    assert a["per_country"]["USA"]["value"] == pytest.approx(71.12, abs=0.01)
    assert a["per_country"]["ZWE"]["value"] == pytest.approx(65.53, abs=0.01)
    gain = a["gain"]
    for c in COUNTRIES:
        cell = gain["per_country"][c]
        assert cell["value"] == pytest.approx(
            a["per_country"][c]["value"] - u["per_country"][c]["value"], abs=0.02
        )
        assert cell["ci_low"] <= cell["value"] <= cell["ci_high"]
    assert a["avg"]["ci_low"] < a["avg"]["value"] < a["avg"]["ci_high"]
    assert "gain" not in u
    table = table_markdown(result)
    assert "| aware - unaware |" in table and "USA" in table.splitlines()[0]


def test_a_run_against_itself_gains_exactly_nothing(tmp_path):
    survey = load_culturespa_wvs(countries=COUNTRIES)
    items = _items(tmp_path / "a.jsonl", lambda c: f"culture_aware_{c}")
    result = compare(survey, {"base": items, "same": items}, "base")
    g = result["models"]["same"]["gain"]["avg"]
    assert (g["value"], g["ci_low"], g["ci_high"]) == (0.0, 0.0, 0.0)
    assert not np.isnan(result["models"]["base"]["avg"]["value"])
