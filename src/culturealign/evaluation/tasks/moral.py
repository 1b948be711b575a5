"""Commonsense-morality judgement tasks: JCM, ETHICS and any judgement file (Jinnai, 2024).

Two named protocols (``protocol=``):

* ``None`` / ``mode="choice"`` (default, our choice): the log-probabilities of the two answers;
  deterministic and never N/A.
* ``"jinnai2024"``: the study's own protocol: a sampled answer (temperature 1.0, top-p 0.7, up
  to 256 new tokens) parsed by :func:`~culturealign.evaluation.parsers.parse_judgement`;
  off-format answers are N/A.

Version history:
  1: initial (study prompt, fixed first-k few-shot examples of the shot split).
  2: generate mode parses with the rewritten table-driven parse_judgement (negations, both
     answers -> N/A); the ``jinnai2024`` protocol (``protocol=`` task option).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from culturealign.data.judgements import load_ethics, load_jcm, load_judgement_file
from culturealign.data.records import Judgement, JudgementSet, Language
from culturealign.evaluation.metrics import judgement_metrics
from culturealign.evaluation.parsers import parse_judgement
from culturealign.evaluation.records import ItemRecord, JudgementItem, as_items
from culturealign.evaluation.scorers import ChoiceScorer, GenerateScorer
from culturealign.evaluation.task import Mode, Sample, Task, task
from culturealign.models.base import GenerationConfig, LanguageModel
from culturealign.prompts.moral import TEMPLATES, render_moral

COLUMNS = ("accuracy", "macro_f1", "na_rate", "wrong_share", "pair_consistency")


@dataclass(frozen=True)
class EvalProtocol:
    """A named way to ask and score: the mode and, when generating, the sampling settings."""

    name: str
    mode: Mode
    generation: GenerationConfig | None


# The paper states temperature 1.0, top-p 0.7, at most 256 new tokens, off-format answers N/A.
# The seed is our choice: the paper states none. --max-new-tokens etc. may still override these
# (then summary.json lists the departures under "generation_departs_from_task").
JINNAI2024 = EvalProtocol(
    "jinnai2024",
    "generate",
    GenerationConfig(max_new_tokens=256, temperature=1.0, top_p=0.7, seed=0),
)
PROTOCOLS = {p.name: p for p in (JINNAI2024,)}


def resolve_protocol(mode: Mode | None, protocol: str | None) -> EvalProtocol:
    """The protocol to run; a bare ``mode`` (or nothing: choice) has no sampling defaults."""
    if protocol is None:
        return EvalProtocol(mode or "choice", mode or "choice", None)
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of: {', '.join(PROTOCOLS)}")
    named = PROTOCOLS[protocol]
    if mode is not None and mode != named.mode:
        raise ValueError(f"protocol {protocol!r} is mode {named.mode!r}, not {mode!r}")
    return named


def judgement_task(
    data: JudgementSet,
    shots_from: JudgementSet | None,
    shots: int,
    protocol: EvalProtocol,
    prompt_language: Language,
    chat: bool | None,
    system: str | None,
    args: dict[str, Any],
) -> Task:
    """Build a judgement task; ``chat=None`` follows the model (template iff it has one)."""
    template = TEMPLATES[prompt_language]
    examples: list[Judgement] = shots_from.items[:shots] if shots_from and shots else []
    if shots and len(examples) < shots:
        raise ValueError(f"only {len(examples)} few-shot examples available, {shots} asked")

    def samples(model: LanguageModel) -> list[Sample]:
        use_chat = model.is_chat if chat is None else chat
        render = partial(
            render_moral,
            template=template,
            shots=examples,
            chat=model.render_chat if use_chat else None,
            system=system,
        )
        return [
            Sample(it.id, render(it).request(), it.label, {"pair": it.pair, "text": it.text})
            for it in data.items
        ]

    def metrics(records: list[ItemRecord]) -> dict[str, Any]:
        items = as_items(records, JudgementItem)
        pairs = [r.pair for r in items] if any(r.pair is not None for r in items) else None
        return judgement_metrics([r.target for r in items], [r.prediction for r in items], pairs)

    scorer = (
        ChoiceScorer()
        if protocol.mode == "choice"
        else GenerateScorer(partial(parse_judgement, language=prompt_language))
    )
    dataset = {
        "name": data.name,
        "split": data.split,
        "language": data.language,
        "size": len(data),
        "source": data.source,
        "sha256": data.sha256,
        "notes": data.notes,
        "few_shot_ids": [e.id for e in examples],
    }
    return Task(
        "", 0, args, samples, scorer, metrics, dataset, COLUMNS, generation=protocol.generation
    )


@task("jcm", version=2)
def jcm(
    split: str = "test",
    shots: int = 3,
    mode: Mode | None = None,
    limit: int | None = None,
    prompt_language: Language = "ja",
    chat: bool | None = None,
    system: str | None = None,
    data_path: Path | None = None,
    protocol: str | None = None,
) -> Task:
    """JCommonsenseMorality; few-shot examples are the first ``shots`` rows of val.

    ``mode`` is ``choice`` (default) or ``generate``; ``protocol="jinnai2024"`` is the study's
    sampled generation (mode generate, its sampling settings as the task's defaults).
    """
    return _study_task(
        load_jcm, "val", split, shots, limit, prompt_language, chat, system, data_path,
        resolve_protocol(mode, protocol),
    )  # fmt: skip


@task("ethics", version=2)
def ethics(
    split: str = "test",
    shots: int = 3,
    mode: Mode | None = None,
    limit: int | None = None,
    prompt_language: Language = "ja",
    chat: bool | None = None,
    system: str | None = None,
    data_path: Path | None = None,
    protocol: str | None = None,
) -> Task:
    """ETHICS commonsense, short rows; few-shot examples are the first short rows of test_hard.

    The study asks in Japanese for both datasets (``prompt_language="ja"``); ``"en"`` asks in
    English. ``mode`` and ``protocol`` as for :func:`jcm`.
    """
    return _study_task(
        load_ethics, "test_hard", split, shots, limit, prompt_language, chat, system, data_path,
        resolve_protocol(mode, protocol),
    )  # fmt: skip


def _study_task(
    load, shot_split, split, shots, limit, prompt_language, chat, system, data_path, protocol
) -> Task:
    """A study dataset split with fixed few-shot examples from ``shot_split``."""
    args = dict(
        split=split,
        shots=shots,
        mode=protocol.mode,
        protocol=_protocol_arg(protocol),
        limit=limit,
        prompt_language=prompt_language,
        chat=chat,
        system=system,
    )
    data = load(split, data_path).head(limit)
    shot_set = load(shot_split, data_path) if shots else None
    return judgement_task(data, shot_set, shots, protocol, prompt_language, chat, system, args)


def _protocol_arg(protocol: EvalProtocol) -> str | None:
    return protocol.name if protocol.name in PROTOCOLS else None


@task("judgement", version=2)
def judgement(
    path: Path,
    text_column: str = "text",
    label_column: str = "label",
    label_values: dict[str, int] | None = None,
    language: Language = "en",
    shots: int = 0,
    mode: Mode | None = None,
    limit: int | None = None,
    prompt_language: Language | None = None,
    chat: bool | None = None,
    system: str | None = None,
    protocol: str | None = None,
) -> Task:
    """Any CSV/JSONL judgement file; few-shot examples are its first rows (then not evaluated)."""
    lang = prompt_language or language
    asked = resolve_protocol(mode, protocol)
    args = dict(
        path=str(path),
        text_column=text_column,
        label_column=label_column,
        label_values=label_values,
        language=language,
        shots=shots,
        mode=asked.mode,
        protocol=_protocol_arg(asked),
        limit=limit,
        prompt_language=lang,
        chat=chat,
        system=system,
    )
    full = load_judgement_file(path, text_column, label_column, label_values, language)
    shot_set = None
    if shots:
        shot_set = full
        full = JudgementSet(
            full.name,
            full.split,
            full.language,
            full.items[shots:],
            full.source,
            full.sha256,
            [*full.notes, f"the first {shots} rows are the few-shot examples"],
        )
    return judgement_task(full.head(limit), shot_set, shots, asked, lang, chat, system, args)
