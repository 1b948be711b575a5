"""World Values Survey wave 7: the CultureSPA 259-question x 18-country set and the
WorldValuesBench question metadata.

Sources (see ``shared/data/culturespa/SOURCE.md`` and ``wvs_worldvaluesbench_meta/SOURCE.md``):

* CultureSPA (Xu et al., NAACL 2025, github.com/shaoyangxu/CultureSPA): ``wvs_questions.json``
  (English WVS-7 wording) and ``proportions_group_by_country.json`` (answer shares of 19
  countries). ``utils.py`` there drops Q260-Q290 (demographics) and Q223, leaving 259
  questions, and numbers the options of the "zero questions" from 0, the rest from 1.
* WorldValuesBench (Zhao et al., LREC-COLING 2024): ``question_metadata.json`` assigns 239 value
  questions to 12 categories; ``answer_adjustment.json`` recodes 15 items so that option
  scores are monotonic (e.g. Q119 "Hard to say" 0 -> 3) or drops a code from the scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from culturealign.data.sources import RemoteFile, locate, sha256_of
from culturealign.data.survey import SurveyQuestion, SurveySet, read_json
from culturealign.errors import CultureAlignError

_CULTURESPA = "https://raw.githubusercontent.com/shaoyangxu/CultureSPA/4e128c910953a4cc59cde2550d711f832a82b992"
_WVB = (
    "https://raw.githubusercontent.com/Demon702/WorldValuesBench/"
    "635db7455e2c656978929210eba984bc09ddd659/dataset_construction"
)
QUESTIONS = RemoteFile(
    "culturespa/data/wvs_questions.json", f"{_CULTURESPA}/data/wvs_questions.json"
)
PROPORTIONS = RemoteFile(
    "culturespa/data/proportions_group_by_country.json",
    f"{_CULTURESPA}/data/proportions_group_by_country.json",
)
WVB_METADATA = RemoteFile(
    "wvs_worldvaluesbench_meta/question_metadata.json", f"{_WVB}/question_metadata.json"
)
WVB_ADJUSTMENT = RemoteFile(
    "wvs_worldvaluesbench_meta/answer_adjustment.json", f"{_WVB}/answer_adjustment.json"
)
RELEASED_MODEL = "Meta-Llama-3-8B-Instruct"


@dataclass(frozen=True)
class Country:
    """How CultureSPA and the persona prompts name a country."""

    iso3: str
    name: str  # "someone from {name}"
    nationality: str  # "a real person with {article} {nationality} cultural background"
    article: str


# The 18 countries of the CultureSPA paper in the order of its tables (utils.py
# ``country2culture_dict`` and ``a_an_dict``, articles kept verbatim: "an Australian"),
# then Mexico, present in the proportions file but not used in the paper.
COUNTRIES: dict[str, Country] = {
    c.iso3: c
    for c in [
        Country("USA", "the United States", "American", "an"),
        Country("CAN", "Canada", "Canadian", "a"),
        Country("BOL", "Bolivia", "Bolivian", "a"),
        Country("BRA", "Brazil", "Brazilian", "a"),
        Country("GBR", "the United Kingdom", "British", "a"),
        Country("NLD", "the Netherlands", "Dutch", "a"),
        Country("DEU", "Germany", "German", "a"),
        Country("UKR", "Ukraine", "Ukrainian", "a"),
        Country("CHN", "China", "Chinese", "a"),
        Country("RUS", "Russia", "Russian", "a"),
        Country("IND", "India", "Indian", "an"),
        Country("THA", "Thailand", "Thai", "a"),
        Country("KEN", "Kenya", "Kenyan", "a"),
        Country("NGA", "Nigeria", "Nigerian", "a"),
        Country("ETH", "Ethiopia", "Ethiopian", "an"),
        Country("ZWE", "Zimbabwe", "Zimbabwean", "a"),
        Country("AUS", "Australia", "Australian", "an"),
        Country("NZL", "New Zealand", "New Zealand", "a"),
        Country("MEX", "Mexico", "Mexican", "a"),
    ]
}
PAPER_COUNTRIES: tuple[str, ...] = tuple(c for c in COUNTRIES if c != "MEX")
# The conventional "Western" group among the 18 (North America, Western Europe, Oceania).
WESTERN: frozenset[str] = frozenset({"USA", "CAN", "GBR", "NLD", "DEU", "AUS", "NZL"})

EXCLUDED: frozenset[str] = frozenset({f"Q{i}" for i in range(260, 291)} | {"Q223"})
ZERO_BASED: frozenset[str] = frozenset(
    [f"Q{i}" for i in range(94, 106)]
    + [f"Q{i}" for i in range(122, 130)]
    + ["Q119"]
    + [f"Q{i}" for i in range(241, 250)]
)
# WVS-7 questionnaire sections as CultureSPA groups them (utils.py ``wvs_class_dict``).
_SECTIONS: list[tuple[str, list[str]]] = [
    ("Social Values, Attitudes & Stereotypes", [f"Q{i}" for i in range(1, 46)]),
    ("Happiness and Well-being", [f"Q{i}" for i in range(46, 57)]),
    ("Social Capital, Trust & Organizational Membership", [f"Q{i}" for i in range(57, 106)]),
    ("Economic Values", [f"Q{i}" for i in range(106, 112)]),
    ("Corruption", [f"Q{i}" for i in range(112, 121)]),
    ("Migration", [f"Q{i}" for i in range(121, 131)]),
    ("Security", [f"Q{i}" for i in range(131, 152)]),
    ("Postmaterialist Index", [f"Q{i}" for i in range(152, 158)]),
    ("Science & Technology", [f"Q{i}" for i in range(158, 164)]),
    ("Religious Values", [f"Q{i}" for i in range(164, 176)]),
    ("Ethical Values and Norms", [f"Q{i}" for i in range(176, 199)]),
    (
        "Political Interest & Political Participation",
        [f"Q{i}" for i in range(199, 235)] + ["Q234A"],
    ),
    ("Political Culture & Political Regimes", [f"Q{i}" for i in range(235, 260)]),
]
SECTION_OF: dict[str, str] = {q: name for name, qs in _SECTIONS for q in qs}


@dataclass(frozen=True)
class WVBQuestion:
    """One WorldValuesBench variable: rewritten wording, category, scale."""

    id: str
    question: str
    category: str
    use_case: str  # "value" | "demographic"
    ordinal: bool
    scale: tuple[int, int] | None


def load_worldvaluesbench_meta(data_dir: Path | None = None) -> dict[str, WVBQuestion]:
    """All 282 WorldValuesBench variables (239 value questions in 12 categories)."""
    path = locate(WVB_METADATA, data_dir)
    out = {}
    for qid, row in read_json(path, dict).items():
        try:
            lo, hi = row["answer_scale_min"], row["answer_scale_max"]
            out[qid] = WVBQuestion(
                qid,
                row["question"],
                row["category"],
                row["use_case"],
                row["answer_data_type"] == "ordinal",
                (int(lo), int(hi)) if lo != "" and hi != "" else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CultureAlignError(
                f"{path}: variable {qid} lacks field {exc}",
                "expected {question, category, use_case, answer_scale_min, answer_scale_max, "
                "answer_data_type} per variable",
            ) from exc
    return out


def load_answer_adjustment(data_dir: Path | None = None) -> dict[str, dict[str, str]]:
    """WorldValuesBench recodings: ``{qid: {old_code: new_code or "" (drop)}}``."""
    adjustment: dict[str, dict[str, str]] = read_json(locate(WVB_ADJUSTMENT, data_dir), dict)
    return adjustment


def option_codes(qid: str, n_options: int) -> list[int]:
    """The numbers CultureSPA shows before the options: 0-based for the zero questions."""
    start = 0 if qid in ZERO_BASED else 1
    return list(range(start, start + n_options))


def _scores(codes: list[int], adjust: dict[str, str]) -> tuple[float | None, ...]:
    mapped = [adjust.get(str(c), str(c)) for c in codes]
    return tuple(float(m) if m != "" else None for m in mapped)


def survey_question(
    raw: dict[str, Any],
    props: dict[str, dict[str, dict[str, float]]],
    meta: dict[str, WVBQuestion],
    adjust: dict[str, dict[str, str]],
) -> SurveyQuestion:
    """One CultureSPA question record with per-country answer shares ``props`` (CultureSPA's
    file or the official survey's): distributions, majority answer, scores and category."""
    qid, options = raw["Q_id"], tuple(raw["option_lst"])
    codes = option_codes(qid, len(options))
    index = {str(c): i for i, c in enumerate(codes)}
    dists, majority = {}, {}
    for country, by_q in props.items():
        shares = by_q.get(qid) or {}
        if not shares:  # not asked / no valid answers in this country
            continue
        vec = [0.0] * len(options)
        for code, share in shares.items():
            vec[index[code]] = float(share)
        dists[country] = tuple(vec)
        majority[country] = index[next(iter(shares))]  # first key = CultureSPA's gold answer
    return SurveyQuestion(
        id=qid,
        text=raw["question"],
        options=options,
        labels=tuple(str(c) for c in codes),
        scores=_scores(codes, adjust.get(qid, {})),
        distributions=dists,
        majority=majority,
        category=meta[qid].category if qid in meta and meta[qid].use_case == "value" else None,
        section=SECTION_OF.get(qid),
    )


def load_culturespa_wvs(
    data_dir: Path | None = None, countries: list[str] | None = None
) -> SurveySet:
    """The 259 CultureSPA WVS questions with the answer shares of the 18 paper countries.

    ``countries`` restricts (and orders) the countries; ``["MEX", ...]`` may add Mexico,
    which the file holds but the paper leaves out.
    """
    qpath = locate(QUESTIONS, data_dir)
    raw_questions = read_json(qpath, list)
    ppath = locate(PROPORTIONS, data_dir)
    props = read_json(ppath, dict)
    meta, adjust = load_worldvaluesbench_meta(data_dir), load_answer_adjustment(data_dir)
    try:
        questions = [
            survey_question(q, props, meta, adjust)
            for q in raw_questions
            if q["Q_id"] not in EXCLUDED
        ]
    except (KeyError, TypeError, AttributeError) as exc:
        raise CultureAlignError(
            f"{qpath} or {ppath} has an unexpected layout (missing {exc})",
            "expected [{Q_id, question, option_lst}] and {country: {Q_id: {code: share}}}",
        ) from exc
    known = tuple(c for c in COUNTRIES if c in props)
    survey = SurveySet(
        name="wvs-culturespa",
        questions=questions,
        countries=known,
        source=f"{QUESTIONS.url} + {PROPORTIONS.url}",
        sha256=f"questions:{sha256_of(qpath)} proportions:{sha256_of(ppath)}",
    )
    return survey.restrict(countries or [c for c in PAPER_COUNTRIES if c in props])


def released_answers_file(setting: str, model: str = RELEASED_MODEL, run: int = 0) -> RemoteFile:
    """A CultureSPA result file, e.g. ``setting="culture_aware_USA"``."""
    rel = f"result/{model}/wvs_result_{setting}_{run}.json"
    return RemoteFile(f"culturespa/{rel}", f"{_CULTURESPA}/{rel}")


def load_released_answers(
    setting: str, data_dir: Path | None = None, model: str = RELEASED_MODEL, run: int = 0
) -> dict[str, str]:
    """Raw answers released with CultureSPA: ``{Q_id: generated text}`` (259 questions)."""
    path = locate(released_answers_file(setting, model, run), data_dir)
    try:
        return {row["Q_id"]: str(row["answer"]) for row in read_json(path, list)}
    except (KeyError, TypeError) as exc:
        raise CultureAlignError(
            f"{path}: rows need Q_id and answer ({exc})", "is this a CultureSPA result file?"
        ) from exc
