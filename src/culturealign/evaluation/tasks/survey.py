"""Values and opinions across countries: WVS (CultureSPA), GlobalOpinionQA, culturally aware NLI.

Each task asks a model every question once per persona: culture-unaware (one answer compared
with every country) and culture-aware (one answer per country, the persona naming it). Two
ways to answer:

* ``mode="choice"``: the option distribution from next-token probabilities of the option labels
  (one forward per question and country; the persona prefix is encoded once);
* ``mode="generate"``: a sampled answer (CultureSPA: temperature 0.6, top-p 0.9, 256 new tokens)
  parsed by CultureSPA's rule, first integer in 0..10 else invalid.

Version history:
  1: initial (CultureSPA / CultureBank wordings, see :mod:`culturealign.prompts.survey`).
  2: wvs-culturespa: ``r_*`` is the mean of per-country r (pooled r kept as ``r_pooled_*``),
     similarity averaged per question first; globalopinionqa: similarity averaged per question
     first (``average=pair`` gives the flat mean); cali: threshold chosen by 5-fold
     cross-validation over premises, floors reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from culturealign.data.cali import GROUPS, NLISet, load_cali
from culturealign.data.globalopinionqa import Subset, load_globalopinionqa
from culturealign.data.survey import SurveyQuestion, SurveySet
from culturealign.data.wvs import COUNTRIES, WESTERN, load_culturespa_wvs
from culturealign.evaluation import survey_summary as report
from culturealign.evaluation.opinion_metrics import AVERAGES
from culturealign.evaluation.records import ItemRecord, RunSummary
from culturealign.evaluation.task import Mode, Sample, Task, task
from culturealign.evaluation.wvs_metrics import parse_first_integer
from culturealign.models.base import ChoiceRequest, GenerationConfig, LanguageModel
from culturealign.prompts.survey import (
    FAMILIES,
    TEMPLATES,
    Persona,
    SurveyTemplate,
    format_options,
    option_labels,
    render,
    wants_chat,
)

# CultureSPA's sampling settings (culture_aware_prompting.py); the runner's config applies them.
CULTURESPA_GENERATION = GenerationConfig(max_new_tokens=256, temperature=0.6, top_p=0.9, seed=42)
UNAWARE = "-"  # the country field of culture-unaware samples
NLI_CHOICES = ("E", "N", "C")


# -- answering ------------------------------------------------------------------------------
def label_nesting(
    choices: Sequence[str], encode: Callable[[str], list[Any]] | None = None
) -> list[tuple[int, int]]:
    """Pairs (i, j) where choice j's tokens extend choice i's, with no choice in between.

    With digit-by-digit tokenizers the log-prob of "1" includes every answer starting with
    "1", "10" among them; :func:`option_probs` subtracts those extensions. Tokenizers with a
    "10" token have no such pairs. Without ``encode``, characters stand in for tokens.
    """
    toks = [list(encode(c)) if encode else list(c) for c in choices]

    def extends(j: int, i: int) -> bool:
        return len(toks[j]) > len(toks[i]) and toks[j][: len(toks[i])] == toks[i]

    n = range(len(choices))
    return [
        (i, j)
        for i in n
        for j in n
        if extends(j, i) and not any(extends(k, i) and extends(j, k) for k in n)
    ]


def option_probs(logprobs: Sequence[float], nesting: Sequence[tuple[int, int]] = ()) -> list[float]:
    """Probabilities of the options renormalised over them (a softmax over label log-probs)."""
    top = max(logprobs)
    mass = [math.exp(lp - top) for lp in logprobs]
    exclusive = list(mass)
    for i, j in nesting:
        exclusive[i] -= mass[j]
    exclusive = [max(m, 0.0) for m in exclusive]
    total = sum(exclusive)
    return [m / total for m in exclusive]


def _code(question: SurveyQuestion, index: int | None) -> int | None:
    label = question.labels[index] if index is not None else ""
    return int(label) if label.isdigit() else None


@dataclass
class SurveyScorer:
    """Option distribution (choice) or parsed answer (generate) of one survey sample."""

    mode: Mode
    questions: dict[str, SurveyQuestion]
    letters: bool
    nesting: dict[tuple[str, ...], list[tuple[int, int]]] = field(default_factory=dict)

    def __call__(self, sample: Sample, output: Any) -> dict[str, Any]:
        q = self.questions[sample.meta["question"]]
        if self.mode == "choice":
            choices = sample.request.choices
            nest = self.nesting.get(choices)
            probs = option_probs(output, label_nesting(choices) if nest is None else nest)
            idx = max(range(len(probs)), key=probs.__getitem__)
            return {"logprobs": output, "probs": probs, "prediction": idx, "answer": _code(q, idx)}
        if self.letters:
            idx = _parse_letter(output, len(q.options))
            answer = _code(q, idx)
        else:
            answer = parse_first_integer(output)
            idx = q.labels.index(str(answer)) if str(answer) in q.labels else None
        return {"output": output, "prediction": idx, "answer": answer}


def _parse_letter(text: str, n: int) -> int | None:
    """The first letter label (``B`` in "B) ...", "(B", " B.") within the options, else None."""
    stripped = text.lstrip(" (")
    if stripped and "A" <= stripped[0] <= chr(ord("A") + n - 1):
        if len(stripped) == 1 or not stripped[1].isalpha():
            return ord(stripped[0]) - ord("A")
    return None


def write_report(out_dir: Path, summary: RunSummary) -> list[Path]:
    """The run ends by writing its report files (:mod:`culturealign.reports.survey`)."""
    from culturealign.reports.survey import write_survey_report

    return write_survey_report(out_dir, summary)


# -- sample building ------------------------------------------------------------------------
def _persona_fields(country: str) -> dict[str, str]:
    if country == UNAWARE:
        return {}
    known = COUNTRIES.get(country)
    if known is None:  # GlobalOpinionQA names countries in words already
        return {"country": country}
    return {"country": known.name, "nationality": known.nationality, "article": known.article}


def _personas(persona: str) -> list[Persona]:
    choices: dict[str, list[Persona]] = {
        "unaware": ["unaware"],
        "aware": ["aware"],
        "both": ["unaware", "aware"],
    }
    if persona not in choices:
        raise ValueError(f"persona must be aware, unaware or both, not {persona!r}")
    return choices[persona]


def survey_samples(
    survey: SurveySet,
    personas: list[Persona],
    family: str,
    model: LanguageModel,
    chat: bool | None,
    scorer: SurveyScorer,
) -> list[Sample]:
    """One sample per question (unaware) and per (question, country) with human data (aware)."""
    out = []
    for persona in personas:
        template = TEMPLATES[FAMILIES[family][persona]]
        wrap = model.render_chat if wants_chat(template, model.is_chat, chat) else None
        countries = [UNAWARE] if persona == "unaware" else list(survey.countries)
        for country in countries:
            for q in survey.questions:
                if country != UNAWARE and country not in q.distributions:
                    continue
                out.append(_survey_sample(q, persona, country, template, wrap))
    encode = getattr(model, "encode_piece", None)
    if encode is not None:
        out = [_fold_space(s, encode) for s in out]
    for choices in {s.request.choices for s in out}:
        scorer.nesting[choices] = label_nesting(choices, encode)
    return out


def _fold_space(sample: Sample, encode: Callable[[str], list[int]]) -> Sample:
    """Move the space of " 1", " 2"... into the prompt when that keeps the same tokens.

    Tokenizers that split digits (gemma) encode " 1" as a space token then "1": every choice
    would be two tokens and cost a forward of its own. When ``text + " 1"`` and
    ``text + " " | "1"`` are the same token sequence, scoring "1" after the space is the same
    probability for one forward.
    """
    req = sample.request
    if not all(c.startswith(" ") for c in req.choices):
        return sample
    spaced = encode(req.text + " ")
    for c in req.choices:
        if encode(req.text) + encode(c) != spaced + encode(c[1:]):
            return sample
    folded = ChoiceRequest(req.prefix, req.text + " ", tuple(c[1:] for c in req.choices))
    return replace(sample, request=folded)


def _survey_sample(
    q: SurveyQuestion, persona: str, country: str, template: SurveyTemplate, wrap
) -> Sample:
    labels = option_labels(template, q.labels)
    fields = {
        **_persona_fields(country),
        "question": q.text,
        "options": format_options(template, labels, q.options),
    }
    rendered = render(template, fields, "question", labels, wrap)
    target = q.majority.get(country) if country != UNAWARE else None
    meta = {"question": q.id, "country": country, "persona": persona}
    return Sample(f"{persona}/{country}/{q.id}", rendered.request(), target, meta)


def _country_list(countries: str | Sequence[str] | None) -> list[str] | None:
    if countries is None or isinstance(countries, list | tuple):
        return countries
    return [c.strip() for c in str(countries).split(",") if c.strip()]


def _dataset_info(data: SurveySet | NLISet, size: int) -> dict[str, Any]:
    return {
        "name": data.name,
        "split": "test",
        "size": size,
        "source": data.source,
        "sha256": data.sha256,
        "notes": data.notes,
    }


def _survey_task(
    survey: SurveySet,
    persona: str,
    prompt: str,
    mode: Mode,
    chat: bool | None,
    args: dict[str, Any],
    metrics: Callable[[list[ItemRecord]], dict[str, Any]],
    columns: tuple[str, ...],
) -> Task:
    if prompt not in FAMILIES:
        raise ValueError(f"prompt must be one of {', '.join(FAMILIES)}, not {prompt!r}")
    if mode not in ("choice", "generate"):
        raise ValueError(f"mode must be choice or generate, not {mode!r}")
    personas = _personas(persona)
    letters = TEMPLATES[FAMILIES[prompt]["aware"]].labels == "letters"
    scorer = SurveyScorer(mode, {q.id: q for q in survey.questions}, letters)
    samples = partial(survey_samples, survey, personas, prompt, chat=chat, scorer=scorer)
    size = len(survey.questions) * ("unaware" in personas)
    size += len(survey.pairs()) * ("aware" in personas)
    return Task(
        "",
        0,
        args,
        lambda model: samples(model),
        scorer,
        metrics,
        _dataset_info(survey, size),
        columns,
        generation=CULTURESPA_GENERATION if prompt == "culturespa" else None,
        report=write_report,
    )


# -- tasks ----------------------------------------------------------------------------------
@task("wvs-culturespa", version=2)
def wvs_culturespa(
    persona: str = "both",
    prompt: str = "culturespa",
    mode: Mode = "choice",
    countries: str | None = None,
    limit: int | None = None,
    chat: bool | None = None,
    data_path: Path | None = None,
) -> Task:
    """World Values Survey, 259 questions x 18 countries (CultureSPA score, WVS correlation)."""
    args = dict(persona=persona, prompt=prompt, mode=mode, countries=countries, limit=limit)
    args["chat"] = chat
    survey = load_culturespa_wvs(data_path, _country_list(countries)).head(limit)
    metrics = partial(report.summarise_wvs, survey=survey, western=WESTERN)
    return _survey_task(survey, persona, prompt, mode, chat, args, metrics, report.WVS_COLUMNS)


@task("globalopinionqa", version=2)
def globalopinionqa(
    persona: str = "aware",
    subset: Subset = "union",
    similarity: str = "jsd",
    average: str = "question",
    mode: Mode = "choice",
    countries: str | None = None,
    limit: int | None = None,
    chat: bool | None = None,
    data_path: Path | None = None,
) -> Task:
    """GlobalOpinionQA subsets: 1 - JSD to each country's answers, and its spread (CultureBank).

    ``average="question"`` (Durmus et al.) averages a question's countries, then questions;
    ``"pair"`` is the flat mean over (question, country) pairs of the CultureBank code.
    """
    if similarity not in report.SIMILARITIES:
        raise ValueError(f"similarity must be one of {', '.join(report.SIMILARITIES)}")
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {', '.join(AVERAGES)}, not {average!r}")
    args = dict(persona=persona, subset=subset, similarity=similarity, average=average, mode=mode)
    args |= dict(countries=countries, limit=limit, chat=chat)
    survey = load_globalopinionqa(subset, data_path).restrict(_country_list(countries))
    survey = survey.head(limit)
    metrics = partial(
        report.summarise_opinions, survey=survey, similarity=similarity, average=average
    )
    columns = report.OPINION_COLUMNS
    return _survey_task(survey, persona, "culturebank", mode, chat, args, metrics, columns)


@dataclass(frozen=True)
class NLIScorer:
    """P(entail) from the next-token probabilities of E, N, C (softmax over the three)."""

    mode: Mode = "choice"

    def __call__(self, sample: Sample, output: list[float]) -> dict[str, Any]:
        probs = option_probs(output)
        best = max(range(3), key=probs.__getitem__)
        return {"logprobs": output, "probs": probs, "p_entail": probs[0], "prediction": best}


@task("cali", version=2)
def cali(
    groups: str = "US,IN",
    template: str = "culturebank-cali",
    mode: Mode = "choice",
    limit: int | None = None,
    chat: bool | None = None,
    data_path: Path | None = None,
) -> Task:
    """Culturally aware NLI: macro-F1 of P(entail) > t, US and India personas (CultureBank).

    ``t`` is chosen by cross-validation over premises (the original chose it on the scored
    items); the F1 of answering all-"entail" / all-"not entail" is reported beside it.
    """
    if mode != "choice":
        raise ValueError("cali scores next-token probabilities of E/N/C only (mode=choice)")
    wanted = _country_list(groups) or []
    if not wanted or any(g not in GROUPS for g in wanted):
        raise ValueError(f"groups must be a comma-separated subset of {', '.join(GROUPS)}")
    if template not in ("culturebank-cali", "culturebank-cali-indented"):
        raise ValueError("template must be culturebank-cali or culturebank-cali-indented")
    args = dict(groups=",".join(wanted), template=template, limit=limit, chat=chat)
    data = load_cali(data_path).unique_pairs().head(limit)
    tmpl = TEMPLATES[template]
    premise_ids = {p: i for i, p in enumerate(dict.fromkeys(it.premise for it in data.items))}

    def samples(model: LanguageModel) -> list[Sample]:
        wrap = model.render_chat if wants_chat(tmpl, model.is_chat, chat) else None
        out = []
        for group in wanted:
            for it in data.items:
                fields = {"premise": it.premise, "hypothesis": it.hypothesis}
                fields["country"] = GROUPS[group]
                rendered = render(tmpl, fields, "premise", NLI_CHOICES, wrap)
                target = int(it.majority(group) == "entail")
                meta = {"item": it.id, "group": group, "majority": it.majority(group)}
                meta["premise"] = premise_ids[it.premise]  # cross-validation folds group by it
                out.append(Sample(f"{group}/{it.id}", rendered.request(), target, meta))
        return out

    metrics = partial(report.summarise_cali, groups=wanted)
    info = _dataset_info(data, len(data) * len(wanted))
    columns = report.cali_columns(wanted)
    return Task("", 0, args, samples, NLIScorer(), metrics, info, columns, report=write_report)
