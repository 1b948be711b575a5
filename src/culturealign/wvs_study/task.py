"""The study's evaluation task: the WVS questions asked with a culture-aware persona per country.

Same prompts, scorer and metrics as ``wvs-culturespa`` (:mod:`culturealign.evaluation.tasks.survey`)
but over any question set (the official file's countries, or a question split for distillation),
so every model of a comparison goes through the runner's resumable ``items.jsonl``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from culturealign.data.survey import SurveyQuestion, SurveySet
from culturealign.data.wvs import COUNTRIES
from culturealign.errors import CultureAlignError
from culturealign.evaluation import survey_summary
from culturealign.evaluation.task import Mode, Sample, Task
from culturealign.evaluation.tasks.survey import (
    CULTURESPA_GENERATION,
    SurveyScorer,
    _fold_space,  # the survey task's space folding: labels stay single tokens
    label_nesting,
    write_report,
)
from culturealign.models.base import ChoiceRequest, LanguageModel
from culturealign.prompts.survey import (
    FAMILIES,
    TEMPLATES,
    format_options,
    option_labels,
    render,
    wants_chat,
)
from culturealign.wvs_study.survey import persona_name

TASK_NAME, TASK_VERSION = "wvs-study", 1


def persona_fields(country: str, names: dict[str, str]) -> dict[str, str]:
    """Template fields naming ``country`` (CultureSPA's nationality adjective for the 18)."""
    known = COUNTRIES.get(country)
    if known is not None:
        return {"country": known.name, "nationality": known.nationality, "article": known.article}
    return {"country": persona_name(country, names)}


def aware_prompt(
    q: SurveyQuestion, country: str, prompt: str, names: dict[str, str], wrap: Any
) -> ChoiceRequest:
    """The culture-aware prompt of one question for one country."""
    template = TEMPLATES[FAMILIES[prompt]["aware"]]
    labels = option_labels(template, q.labels)
    fields = {**persona_fields(country, names), "question": q.text}
    fields["options"] = format_options(template, labels, q.options)
    return render(template, fields, "question", labels, wrap).request()


def _samples(
    survey: SurveySet, prompt: str, names: dict[str, str], chat: bool | None, scorer: SurveyScorer,
    model: LanguageModel,
) -> list[Sample]:  # fmt: skip
    template = TEMPLATES[FAMILIES[prompt]["aware"]]
    wrap = model.render_chat if wants_chat(template, model.is_chat, chat) else None
    out = []
    for country in survey.countries:
        for q in survey.questions:
            if country in q.distributions:
                request = aware_prompt(q, country, prompt, names, wrap)
                meta = {"question": q.id, "country": country, "persona": "aware"}
                out.append(Sample(f"aware/{country}/{q.id}", request, q.majority[country], meta))
    encode = getattr(model, "encode_piece", None)
    if encode is not None:
        out = [_fold_space(s, encode) for s in out]
    for choices in {s.request.choices for s in out}:
        scorer.nesting[choices] = label_nesting(choices, encode)
    return out


def study_task(
    survey: SurveySet,
    western: Iterable[str],
    names: dict[str, str] | None = None,
    prompt: str = "culturespa",
    mode: Mode = "choice",
    chat: bool | None = None,
) -> Task:
    """Culture-aware answers for every (question, country) of ``survey``, scored as WVS."""
    if prompt not in FAMILIES:
        raise CultureAlignError(f"prompt must be one of {', '.join(FAMILIES)}, not {prompt!r}")
    if mode not in ("choice", "generate"):
        raise CultureAlignError(f"mode must be choice or generate, not {mode!r}")
    names = names or {}
    if prompt == "culturespa":
        other = [c for c in survey.countries if c not in COUNTRIES]
        if other:
            raise CultureAlignError(
                f"the CultureSPA persona needs a nationality adjective, known for the 18 "
                f"CultureSPA countries only, not {', '.join(other[:5])}...",
                "use prompt: culturebank for the official file's countries",
            )
    letters = TEMPLATES[FAMILIES[prompt]["aware"]].labels == "letters"
    scorer = SurveyScorer(mode, {q.id: q for q in survey.questions}, letters)
    args: dict[str, Any] = {"prompt": prompt, "mode": mode, "chat": chat}
    args |= {"questions": [q.id for q in survey.questions], "countries": list(survey.countries)}
    return Task(
        TASK_NAME,
        TASK_VERSION,
        args,
        partial(_samples, survey, prompt, names, chat, scorer),
        scorer,
        partial(survey_summary.summarise_wvs, survey=survey, western=tuple(western)),
        {
            "name": survey.name,
            "split": "test",
            "size": len(survey.pairs()),
            "source": survey.source,
            "sha256": survey.sha256,
            "notes": survey.notes,
        },
        survey_summary.WVS_COLUMNS,
        generation=CULTURESPA_GENERATION if prompt == "culturespa" else None,
        report=write_report,
    )
