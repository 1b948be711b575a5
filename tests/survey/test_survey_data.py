"""Loaders on the real files in $CULTUREALIGN_DATA: counts from each SOURCE.md, and errors."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest

from culturealign.data.cali import load_cali, parse_cali
from culturealign.data.globalopinionqa import load_globalopinionqa
from culturealign.data.wvs import (
    PAPER_COUNTRIES,
    load_culturespa_wvs,
    load_worldvaluesbench_meta,
)
from culturealign.errors import CultureAlignError

pytestmark = pytest.mark.needs_data


@pytest.fixture(scope="module")
def wvs():
    return load_culturespa_wvs()


def test_culturespa_has_259_questions_and_18_countries(wvs):
    assert len(wvs) == 259
    assert wvs.countries == PAPER_COUNTRIES and len(PAPER_COUNTRIES) == 18
    ids = [q.id for q in wvs.questions]
    assert "Q223" not in ids and "Q260" not in ids and "Q234A" in ids
    missing = Counter(c for q in wvs.questions for c in wvs.countries if c not in q.majority)
    assert missing["CHN"] == 37 and missing["USA"] == 2 and missing["BRA"] == 0


def test_culturespa_codes_gold_and_scores(wvs):
    by_id = {q.id: q for q in wvs.questions}
    q1, q94, q119 = by_id["Q1"], by_id["Q94"], by_id["Q119"]
    assert q1.labels == ("1", "2", "3", "4") and q94.labels == ("0", "1", "2")
    assert q1.majority["USA"] == 0 and q94.majority["USA"] == 0  # "Very important", "Don't belong"
    assert q1.distributions["USA"][0] == pytest.approx(0.8921417565485362)
    # WorldValuesBench recodes "Hard to say" (0) to the middle of the agree/disagree scale
    assert q119.scores == (3.0, 1.0, 2.0, 4.0, 5.0)
    assert by_id["Q111"].scores == (1.0, 2.0, None)  # "Other answer" has no place on the scale
    assert q1.category == "Social Values, Norms, Stereotypes"
    assert q1.section == "Social Values, Attitudes & Stereotypes"


def test_first_key_not_argmax_is_the_gold(tmp_path, wvs):
    """CultureSPA's gold is the first key of the proportions dict, even where it is no argmax."""
    src = json.loads((_data() / "culturespa/data/proportions_group_by_country.json").read_text())
    src["USA"]["Q1"] = {"2": 0.1, "1": 0.9}
    (tmp_path / "proportions_group_by_country.json").write_text(json.dumps(src))
    for name in ("wvs_questions.json",):
        (tmp_path / name).write_text((_data() / "culturespa/data" / name).read_text())
    for name in ("question_metadata.json", "answer_adjustment.json"):
        (tmp_path / name).write_text((_data() / "wvs_worldvaluesbench_meta" / name).read_text())
    q1 = load_culturespa_wvs(tmp_path, ["USA"]).questions[0]
    assert q1.majority == {"USA": 1}


def test_worldvaluesbench_has_12_value_categories():
    meta = load_worldvaluesbench_meta()
    values = [m for m in meta.values() if m.use_case == "value"]
    assert len(meta) == 282 and len(values) == 239
    assert len({m.category for m in values}) == 12
    assert meta["Q1"].scale == (1, 4) and meta["Q1"].ordinal


def test_unknown_country_is_a_clear_error(wvs):
    with pytest.raises(CultureAlignError, match="FRA"):
        wvs.restrict(["USA", "FRA"])
    assert load_culturespa_wvs(countries=["MEX"]).countries == ("MEX",)


def test_bad_json_names_the_file(tmp_path):
    (tmp_path / "wvs_questions.json").write_text("{not json")
    with pytest.raises(CultureAlignError, match="wvs_questions.json"):
        load_culturespa_wvs(tmp_path)


def test_globalopinionqa_subsets():
    feng = load_globalopinionqa("modular_pluralism")
    bench = load_globalopinionqa("globalopinionbench")
    union = load_globalopinionqa("union")
    assert len(feng.pairs()) == 5752 and len(bench.pairs()) == 4633
    assert len(union.countries) == 130
    assert len(union.pairs()) == 5752 + 4633 - 571
    q = feng.questions[0]
    assert not q.text.startswith("Question:") and "\nOptions:" not in q.text
    assert q.labels[:3] == ("A", "B", "C")
    with pytest.raises(CultureAlignError):
        load_globalopinionqa("everything")  # type: ignore[arg-type]


def test_cali_has_2228_rows_split_on_tabs():
    data = load_cali()
    assert len(data) == 2228
    assert len(data.unique_pairs()) == 2224
    assert Counter(i.majority("US") for i in data.items) == {
        "neutral": 846,
        "entail": 794,
        "contradict": 588,
    }
    assert Counter(i.majority("IN") for i in data.items)["entail"] == 770
    raw = (_data() / "culturally_aware_nli/data.tsv").read_text(encoding="utf-8")
    assert len(list(csv.reader(io.StringIO(raw), delimiter="\t"))) - 1 != 2228  # why we split


def test_cali_majority_ties_go_to_first_seen_and_bad_rows_fail():
    text = "premise\thypothesis\tus_ratings\tin_ratings\np\th\t['N', 'E', 'E', 'N']\t['C']\n"
    (item,) = parse_cali(text)
    assert item.majority("US") == "neutral" and item.majority("IN") == "contradict"
    with pytest.raises(CultureAlignError, match=":2"):
        parse_cali(text.replace("\t['C']", ""))
    with pytest.raises(CultureAlignError, match="header"):
        parse_cali("a\tb\n")


def _data():
    import os
    from pathlib import Path

    return Path(os.environ["CULTUREALIGN_DATA"])
