"""LLM-judged tasks: Japanese MT-Bench (Jinnai 2024 Table 5) and CultureBank grounded questions.

Both fit the runner's answer-then-score loop: the runner generates (and resumes) the answers
to the prompts, the scorer asks the judge (:mod:`culturealign.judging`) and, for MT-Bench, the
answering model for the second turn. Every item's record keeps the judge input, its raw output
and the parsed score. ``judge=`` names the judge model (any ``--model`` spec, e.g.
``openai:gpt-4o@https://api.openai.com/v1``); left unset, the answering model judges itself
(our CPU default: weak, see ``culturealign judge-calibrate``).

Version history:
  1: initial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from culturealign.evaluation.metrics import Estimate, bootstrap
from culturealign.evaluation.records import ItemRecord, RunSummary
from culturealign.evaluation.task import Mode, Sample, Task, task
from culturealign.models.base import ChoiceRequest, GenerationConfig, LanguageModel


@dataclass
class _Models:
    """The answering model (known once ``samples`` runs) and the judge, loaded on first use."""

    judge_spec: str | None
    judge_tokens: int
    cue: str = ""
    answer: LanguageModel | None = None
    _judge: Any = field(default=None, repr=False)

    def judge(self) -> Any:
        from culturealign.judging.judges import Judge
        from culturealign.judging.loading import load_judge_model

        if self._judge is None:
            assert self.answer is not None, "samples() runs before scoring"
            model = load_judge_model(self.judge_spec, self.answer)
            self._judge = Judge(model, self.judge_tokens, cue=self.cue)
        return self._judge


def _mean(x: Any, axis: int = -1) -> Any:
    import numpy as np

    return np.mean(x, axis=axis)


def _estimate(values: list[float], seed: int = 0) -> dict[str, float]:
    import numpy as np

    if not values:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    est: Estimate = bootstrap(_mean, np.asarray(values, dtype=float), seed=seed)
    return {**est.as_dict(), "n": len(values)}


# -- Japanese MT-Bench ------------------------------------------------------------------------
@dataclass
class MTBenchScorer:
    models: _Models
    questions: dict[str, Any]
    conversation: Any
    prompts: dict[str, Any]
    turns: int
    answer_tokens: int
    mode: Mode = "generate"

    def __call__(self, sample: Sample, output: str) -> dict[str, Any]:
        from culturealign.judging import mt_bench as mtb

        question = self.questions[sample.id]
        first = mtb.clean_answer(output, self.conversation.chat)
        second = ""
        if self.turns >= 2:
            assert self.models.answer is not None
            second = mtb.answer_second_turn(
                self.models.answer,
                self.conversation,
                question,
                first,
                self.answer_tokens,
                question.id,
            )
        judged = mtb.grade(self.models.judge(), self.prompts, question, first)
        rating = judged["score"] if judged["score"] >= 0 else None  # -1: the judge gave none
        return {
            "output": output,
            "answers": [first, second][: self.turns],
            **judged,
            "rating": rating,
        }


def mt_bench_metrics(records: list[ItemRecord]) -> dict[str, Any]:
    """Table 5: mean turn-1 score per category and overall, with bootstrap CIs.

    Judgements without a rating (-1) are left out of the means, as FastChat's show_result
    does, and counted in ``failure_rate``.
    """
    scores = [float(r.get("score")) for r in records]
    by_cat: dict[str, list[float]] = {}
    for r, s in zip(records, scores, strict=True):
        rated = by_cat.setdefault(str(r.get("category")), [])
        if s >= 0:
            rated.append(s)
    table = {cat: _estimate(v) for cat, v in sorted(by_cat.items())}
    valid = [s for s in scores if s >= 0]
    table["average"] = _estimate(valid)
    failed = [float(s < 0) for s in scores]
    metrics: dict[str, Any] = {
        "average": table["average"]["value"],
        **{cat: est["value"] for cat, est in table.items() if cat != "average"},
        "failure_rate": {k: v for k, v in _estimate(failed).items() if k != "n"},
        "table5": table,
    }
    return metrics


def _write_mt_bench_report(out_dir: Path, summary: RunSummary) -> list[Path]:
    from culturealign.reports.mt_bench import write_run_report

    return write_run_report(out_dir, summary)


@task("mt-bench-ja", version=1)
def mt_bench_ja(
    questions: str = "60",
    reference: str = "gpt-4",
    judge: str | None = None,
    judge_prompts: str = "ja",
    judge_max_new_tokens: int = 1024,
    judge_cue: str = "",
    answer_max_new_tokens: int = 1024,
    turns: int = 2,
    system: str | None = None,
    chat: bool | None = None,
    limit: int | None = None,
    data_path: Path | None = None,
) -> Task:
    """Japanese MT-Bench: 60 questions (six Table 5 categories; questions=80 for all), turn 1
    graded 1-10 by an LLM judge (judge=<model spec>; default: the answering model itself)."""
    from culturealign.data.mt_bench import judge_prompts_path, load_mt_bench_ja
    from culturealign.judging import mt_bench as mtb
    from culturealign.judging.prompts import ENGLISH, load_judge_prompts

    if turns not in (1, 2):
        raise ValueError("turns must be 1 or 2 (MT-Bench has two)")
    if judge_prompts not in ("ja", "en"):
        raise ValueError("judge_prompts must be ja (judge_ja_prompts.jsonl) or en (FastChat's)")
    data = load_mt_bench_ja(questions, reference, data_path, limit)
    prompts = (
        load_judge_prompts(judge_prompts_path(data_path)) if judge_prompts == "ja" else ENGLISH
    )
    models = _Models(judge, judge_max_new_tokens, judge_cue)
    by_id = {f"q{q.id}": q for q in data.questions}
    system_prompt = mtb.STUDY_SYSTEM if system is None else system

    def samples(model: LanguageModel) -> list[Sample]:
        models.answer = model
        conv = mtb.Conversation(system_prompt or None, model.is_chat if chat is None else chat)
        scorer.conversation = conv
        return [
            Sample(
                f"q{q.id}",
                ChoiceRequest("", conv.render(model, [q.turns[0]], []), ()),
                None,
                {
                    "question_id": q.id,
                    "category": q.category,
                    "turns": list(q.turns),
                    "reference": list(q.references),
                    "fastchat_temperature": mtb.TEMPERATURES.get(q.category),
                },
                temperature=mtb.TEMPERATURES.get(q.category, mtb.DEFAULT_TEMPERATURE),
            )
            for q in data.questions
        ]

    scorer = MTBenchScorer(models, by_id, None, prompts, turns, answer_max_new_tokens)
    cats = sorted({q.category for q in data.questions})
    notes = [
        *data.notes,
        "both turns are drawn at FastChat's per-category temperature (fastchat_temperature), "
        "turn 1 in batches of one category; --temperature replaces it for every turn-1 answer",
        f"judge: {judge or 'the answering model itself'}; judge prompts: {judge_prompts}",
    ]
    dataset = {
        "name": f"japanese_mt_bench-{questions}",
        "size": len(data.questions),
        "source": data.source,
        "sha256": data.sha256,
        "notes": notes,
    }
    args = {
        "questions": questions,
        "reference": reference,
        "judge": judge,
        "judge_prompts": judge_prompts,
        "judge_max_new_tokens": judge_max_new_tokens,
        "judge_cue": judge_cue,
        "answer_max_new_tokens": answer_max_new_tokens,
        "turns": turns,
        "system": system_prompt,
        "chat": chat,
        "limit": limit,
    }
    generation = GenerationConfig(max_new_tokens=answer_max_new_tokens, temperature=0.0)
    return Task(
        "",
        0,
        args,
        samples,
        scorer,
        mt_bench_metrics,
        dataset,
        ("average", *cats, "failure_rate"),
        generation=generation,
        report=_write_mt_bench_report,
        item_value="rating",
    )


# -- CultureBank grounded questions -------------------------------------------------------------
@dataclass
class EntailmentScorer:
    """P("Yes") that the answer entails the behaviour's knowledge (CultureBank's judge)."""

    models: _Models
    knowledge: dict[str, str]
    mode: Mode = "generate"

    def __call__(self, sample: Sample, output: str) -> dict[str, Any]:
        from culturealign.judging.prompts import KNOWLEDGE_ENTAIL

        answer = output.strip()
        judged = self.models.judge().yes_no(
            KNOWLEDGE_ENTAIL, [{"response": answer, "knowledge": self.knowledge[sample.id]}]
        )[0]
        return {"output": output, **judged, "entailed": judged["p_yes"] > 0.5}


def culturebank_metrics(records: list[ItemRecord]) -> dict[str, Any]:
    """Mean entailment score and share entailed (P(Yes) > 0.5), overall, per topic and group."""
    import numpy as np

    def summary(rs: list[ItemRecord]) -> dict[str, Any]:
        scores = np.asarray([float(r.get("p_yes")) for r in rs])
        ent = (scores > 0.5).astype(float)
        return {
            "mean_score": {k: v for k, v in _estimate(list(scores)).items() if k != "n"},
            "entailed": {k: v for k, v in _estimate(list(ent)).items() if k != "n"},
            "n": len(rs),
        }

    def grouped(key: str) -> dict[str, Any]:
        groups: dict[str, list[ItemRecord]] = {}
        for r in records:
            groups.setdefault(str(r.get(key)), []).append(r)
        return {g: summary(rs) for g, rs in sorted(groups.items())}

    overall = summary(records)
    return {
        "mean_score": overall["mean_score"],
        "entailed": overall["entailed"],
        "per_topic": grouped("topic"),
        "per_group": grouped("group"),
    }


@task("culturebank-grounded", version=1)
def culturebank_grounded(
    source: str = "reddit",
    full: bool = False,
    questions: Path | None = None,
    judge: str | None = None,
    chat: bool | None = None,
    limit: int | None = None,
    data_path: Path | None = None,
) -> Task:
    """CultureBank grounded questions: answer, then P("Yes") that the answer entails the
    cultural knowledge (judge=<model spec>; questions=<built set> or the released ones)."""
    from culturealign.data.culturebank import load_culturebank
    from culturealign.judging.culturebank import GROUNDED_EVAL, read_questions, render_user

    data = load_culturebank(source, full, data_path)
    if questions is not None:
        built = read_questions(questions)
        items = [(q["id"], q["question"], q["knowledge"], q["topic"], q["group"]) for q in built]
        origin = f"questions built into {questions}"
    else:
        rows = [r for r in data.rows if r.question.strip()]
        items = [(r.id, r.question, r.knowledge, r.topic, r.group) for r in rows]
        origin = "the released eval_question column"
    items = items[:limit] if limit is not None else items
    models = _Models(judge, 1)
    scorer = EntailmentScorer(models, {i[0]: i[2] for i in items})

    def samples(model: LanguageModel) -> list[Sample]:
        models.answer = model
        return [
            Sample(
                qid,
                ChoiceRequest("", render_user(model, GROUNDED_EVAL.format(q), chat), ()),
                None,
                {"question": q, "knowledge": k, "topic": t, "group": g},
            )
            for qid, q, k, t, g in items
        ]

    notes = [
        *data.notes,
        f"questions: {origin}",
        f"judge: {judge or 'the answering model itself'}",
    ]
    if limit is not None:
        notes.append(f"limited to the first {limit} questions")
    dataset = {
        "name": f"culturebank-{source}{'' if full else '-subset'}",
        "size": len(items),
        "source": data.source,
        "sha256": data.sha256,
        "notes": notes,
    }
    args = {
        "source": source,
        "full": full,
        "questions": questions,
        "judge": judge,
        "chat": chat,
        "limit": limit,
    }
    # The paper states temperature 0.7, top-k 10, top-p 0.95, up to 512 tokens; seed: our choice.
    generation = GenerationConfig(max_new_tokens=512, temperature=0.7, top_p=0.95, top_k=10, seed=0)
    return Task(
        "",
        0,
        args,
        samples,
        scorer,
        culturebank_metrics,
        dataset,
        ("mean_score", "entailed"),
        generation,
        item_value="p_yes",
    )
