"""Reading the official WVS wave 7 file: weights, missing codes, shares, means, file formats.

The real file cannot be shipped (WVS terms: registration, no redistribution), so each test writes
a small file with the official variable names and codes (B_COUNTRY_ALPHA, W_WEIGHT, Q-columns,
negative missing codes) and checks the result against shares computed by hand.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from culturealign.errors import CultureAlignError
from culturealign.wvs_study.official import country_distributions, prepare, read_official
from culturealign.wvs_study.survey import load_official_survey

pytestmark = pytest.mark.needs_data

# Q1 family importance (1..4), Q119 (0..4, WorldValuesBench recodes 0 -> 3, 3 -> 4, 4 -> 5),
# Q260 sex (a demographic: no category, must not appear). ARG is outside CultureSPA's 18.
ROWS = [
    # country, weight, Q1, Q119, Q260
    ("USA", 1.0, 1, 0, 1),
    ("USA", 3.0, 2, 1, 2),
    ("USA", 2.0, -1, 4, 1),  # don't know on Q1: dropped
    ("ARG", 0.5, 4, -2, 2),  # no answer on Q119
    ("ARG", 1.5, 4, 2, 1),
    ("ARG", 2.0, 1, -4, 1),  # not asked
    ("NGA", 1.0, -5, -5, 2),  # missing everything: NGA has no Q1 / Q119 shares
]


def official_frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["B_COUNTRY_ALPHA", "W_WEIGHT", "Q1", "Q119", "Q260"])


def test_weighted_shares_drop_negative_codes_and_sort_majority_first():
    prepared = country_distributions(official_frame())
    assert prepared.questions == ["Q1", "Q119"]  # Q260 is a demographic, not a value question
    assert prepared.proportions["USA"]["Q1"] == pytest.approx({"2": 0.75, "1": 0.25})
    assert list(prepared.proportions["USA"]["Q1"]) == ["2", "1"]  # majority first
    assert prepared.proportions["ARG"]["Q1"] == pytest.approx({"1": 0.5, "4": 0.5})
    assert prepared.proportions["ARG"]["Q119"] == pytest.approx({"2": 1.0})
    assert prepared.proportions["NGA"] == {}
    assert sorted(prepared.countries) == ["ARG", "NGA", "USA"]


def test_means_use_worldvaluesbench_adjusted_codes():
    rows = country_distributions(official_frame()).means
    means = {(m["country"], m["question"]): m for m in rows}
    # USA Q119: codes 0 (w 1), 1 (w 3), 4 (w 2) -> adjusted 3, 1, 5 -> (3 + 3 + 10) / 6
    usa = means[("USA", "Q119")]
    assert usa["mean"] == pytest.approx(16 / 6)
    assert usa["n"] == 3 and usa["category"]
    assert means[("USA", "Q1")]["mean_normalised"] == pytest.approx((1.75 - 1) / 3)


def test_unweighted_counts_respondents_equally():
    prepared = country_distributions(official_frame(), weight=None)
    assert prepared.proportions["USA"]["Q1"] == pytest.approx({"1": 0.5, "2": 0.5})


@pytest.mark.parametrize("suffix", [".csv", ".sav", ".dta"])
def test_prepare_reads_csv_spss_and_stata(tmp_path, suffix):
    import pyreadstat

    frame, path = official_frame(), tmp_path / f"WVS_Cross-National_Wave_7{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, sep=";", index=False)  # the release's separator is not guaranteed
    elif suffix == ".sav":
        pyreadstat.write_sav(frame, str(path))
    else:
        pyreadstat.write_dta(frame, str(path))
    prepare(path, tmp_path / "out")
    props = json.loads((tmp_path / "out" / "proportions.json").read_text())
    assert props["USA"]["Q1"] == pytest.approx({"2": 0.75, "1": 0.25})
    assert (tmp_path / "out" / "means.csv").read_text().startswith("country,question,category")


def test_missing_file_says_where_to_get_it(tmp_path):
    with pytest.raises(CultureAlignError) as err:
        read_official(tmp_path / "WVS.csv")
    assert "worldvaluessurvey.org" in str(err.value) and "register" in str(err.value)


def test_file_without_weights_or_country_is_a_clear_error():
    with pytest.raises(CultureAlignError, match="W_WEIGHT"):
        country_distributions(official_frame().drop(columns="W_WEIGHT"))
    with pytest.raises(CultureAlignError, match="B_COUNTRY_ALPHA"):
        country_distributions(official_frame().drop(columns="B_COUNTRY_ALPHA"))


def test_prepared_folder_becomes_a_survey_set_with_every_country(tmp_path):
    path = tmp_path / "wvs.csv"
    official_frame().to_csv(path, index=False)
    prepare(path, tmp_path / "p")
    survey = load_official_survey(tmp_path / "p")
    assert [q.id for q in survey.questions] == ["Q1", "Q119"]
    assert survey.countries == ("ARG", "NGA", "USA")
    q1 = survey.questions[0]
    assert q1.distributions["USA"] == pytest.approx((0.25, 0.75, 0.0, 0.0))
    assert q1.majority["USA"] == 1 and q1.category
