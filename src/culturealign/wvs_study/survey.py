"""The study's question sets: CultureSPA's 18 countries, or every country of the official file.

Official shares plug into the same :class:`~culturealign.data.survey.SurveySet` as CultureSPA's
(its English wording and option lists, WorldValuesBench categories and answer adjustment), so the
existing survey scorer and metrics apply unchanged. Personas for the countries outside the 18 name
the country in words (WVS codebook names); their nationality adjectives are not in any file here,
so the culture-aware CultureSPA template is limited to the 18 and ``prompt: culturebank`` ("How
would someone from {country} answer ...") serves all countries.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from culturealign.data.sources import locate, sha256_of
from culturealign.data.survey import SurveySet, read_json
from culturealign.data.wvs import (
    COUNTRIES,
    EXCLUDED,
    QUESTIONS,
    WESTERN,
    WVB_METADATA,
    load_answer_adjustment,
    load_culturespa_wvs,
    load_worldvaluesbench_meta,
    option_codes,
    survey_question,
)
from culturealign.errors import CultureAlignError
from culturealign.wvs_study.official import PROPORTIONS_FILE, read_proportions

# Western for the official file's countries: our choice (the study's grouping could not be read
# here): North America, the EU-15/EFTA countries of Western, Northern and Southern Europe, and
# Oceania. On the 18 CultureSPA countries it equals data.wvs.WESTERN.
WESTERN_WIDE: frozenset[str] = WESTERN | frozenset(
    "AND AUT BEL CHE DNK ESP FIN FRA GRC IRL ISL ITA LUX NOR PRT SWE".split()
)


def country_names(data_dir: Path | None = None) -> dict[str, str]:
    """ISO alpha-3 -> country name from the WVS codebook that ships with WorldValuesBench."""
    path = locate(WVB_METADATA, data_dir).parent / "codebook.json"
    if not path.is_file():
        return {}
    book = json.loads(path.read_text(encoding="utf-8"))
    names: dict[str, str] = book.get("B_COUNTRY_ALPHA", {}).get("choices", {})
    return {k: v for k, v in names.items() if not k.startswith("-")}


def persona_name(iso3: str, names: dict[str, str]) -> str:
    """How a persona names a country: CultureSPA's wording for the 18, else the codebook's."""
    if iso3 in COUNTRIES:
        return COUNTRIES[iso3].name
    return names.get(iso3, iso3)


def load_official_survey(
    prepared_dir: Path, data_dir: Path | None = None, countries: list[str] | None = None
) -> SurveySet:
    """CultureSPA's question wording with the official file's per-country shares."""
    props = read_proportions(prepared_dir)
    raw = read_json(locate(QUESTIONS, data_dir), list)
    meta, adjust = load_worldvaluesbench_meta(data_dir), load_answer_adjustment(data_dir)
    clean: dict[str, dict[str, dict[str, float]]] = {}
    for country, by_q in props.items():
        clean[country] = {}
        for q in raw:
            shares = by_q.get(q["Q_id"])
            if not shares:
                continue
            known = {str(c) for c in option_codes(q["Q_id"], len(q["option_lst"]))}
            kept = {c: s for c, s in shares.items() if c in known}  # codes off the option list
            total = sum(kept.values())
            if total > 0:
                ordered = sorted(kept.items(), key=lambda kv: -kv[1])
                clean[country][q["Q_id"]] = {c: s / total for c, s in ordered}
    questions = [survey_question(q, clean, meta, adjust) for q in raw if q["Q_id"] not in EXCLUDED]
    questions = [q for q in questions if q.distributions]
    if not questions:
        raise CultureAlignError(
            f"{prepared_dir / PROPORTIONS_FILE}: no question overlaps the CultureSPA set",
            "prepare it from the official WVS wave 7 file (`culturealign wvs prepare`)",
        )
    survey = SurveySet(
        name="wvs-official",
        questions=questions,
        countries=tuple(sorted(clean)),
        source=str(prepared_dir / PROPORTIONS_FILE),
        sha256=sha256_of(prepared_dir / PROPORTIONS_FILE),
    )
    return survey.restrict(countries) if countries else survey


def study_survey(data: dict[str, Any], data_dir: Path | None = None) -> SurveySet:
    """The spec's ``data`` block -> a question set (``source: culturespa | official``)."""
    countries = data.get("countries")
    if data.get("source", "culturespa") == "official":
        if not data.get("prepared"):
            raise CultureAlignError(
                "data.source official needs data.prepared (a `culturealign wvs prepare` folder)",
                "add `prepared: path/to/folder` under data",
            )
        survey = load_official_survey(Path(data["prepared"]), data_dir, countries)
    else:
        survey = load_culturespa_wvs(data_dir, countries)
    return select_questions(survey, data.get("questions"), data.get("limit"))


def select_questions(survey: SurveySet, ids: list[str] | None, limit: int | None) -> SurveySet:
    """Keep the listed question ids (in the set's order), then the first ``limit``."""
    if ids:
        unknown = sorted(set(ids) - {q.id for q in survey.questions})
        if unknown:
            raise CultureAlignError(f"unknown WVS question ids: {', '.join(unknown)}")
        wanted = set(ids)
        kept = [q for q in survey.questions if q.id in wanted]
        survey = replace(survey, questions=kept, notes=[*survey.notes, f"{len(kept)} questions"])
    return survey.head(limit)
