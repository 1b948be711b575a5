"""``culturealign run <spec>`` for ``kind: culturebank-sft``: CultureBank's two-stage SFT.

Steps, each a cached stage (``stages/<step>/<key>/``; a killed step resumes from its
``.partial`` folder): the base model's grounded evaluation -> stage-1 data (knowledge
descriptions) -> stage-1 adapter -> merged stage-1 model -> stage-2 data (knowledge-augmented
answers to the questions scored below the threshold) -> stage-2 adapter on the merged model ->
base vs two-stage on GlobalOpinionQA, CALI and the grounded questions -> ``table.md`` /
``table.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from culturealign.culturebank_sft.spec import CultureBankSFTSpec, load_culturebank_sft_spec
from culturealign.errors import CultureAlignError
from culturealign.experiments.cache import StageStore, stage_key
from culturealign.experiments.pipeline_run import open_run
from culturealign.layout import ITEMS_FILE
from culturealign.paths import write_json_atomic, write_text_atomic

TABLE_MD, TABLE_JSON = "table.md", "table.json"
STAGE1, STAGE2, MERGED = "stage1.jsonl", "stage2.jsonl", "model"


class Pipeline:
    """One spec's stages; each method returns its finished stage folder."""

    def __init__(self, spec: CultureBankSFTSpec, root: Path, console: Any) -> None:
        self.spec, self.console = spec, console
        self.store = StageStore(root / "stages")

    def _stage(self, kind: str, inputs: dict[str, Any], work: Any) -> Path:
        result = self.store.run(kind, stage_key(kind, inputs), inputs, work)
        self.console.print(f"{kind}: {'cached' if result.cached else 'done'} ({result.path})")
        return result.path

    def _load(self, model: str, adapter: Path | None = None) -> Any:
        from culturealign.models import load_model

        return load_model(model, adapter=adapter, **self.spec.model_options)

    def evaluate(self, label: str, model: str, adapter: Path | None, task: str) -> Path:
        """One evaluation stage: ``task`` (grounded, globalopinionqa, cali) on one model."""
        from culturealign.evaluation import build_task
        from culturealign.evaluation.runner import resolve_generation, run_task

        options, tokens = self._task_options(task)
        inputs: dict[str, Any] = {"model": self.spec.model, "label": label, "task": task}
        inputs["options"] = options
        inputs |= {"adapter": adapter.name if adapter else None, "tokens": tokens}

        def work(out: Path) -> None:
            built = build_task(task, options)
            run_task(built, self._load(model, adapter), out, resolve_generation(built, tokens))

        return self._stage("evaluate", inputs, work)

    def _task_options(self, task: str) -> tuple[dict[str, Any], int | None]:
        g, ev = self.spec.grounded, self.spec.evaluate
        if task == "culturebank-grounded":
            opts = {"source": g.source, "full": g.full, "judge": g.judge, "limit": g.limit}
            return opts | ({"questions": g.questions} if g.questions else {}), g.max_new_tokens
        return dict((ev.globalopinionqa if task == "globalopinionqa" else ev.cali) or {}), None

    def knowledge(self) -> Path:
        from culturealign.culturebank_sft.data import knowledge_rows
        from culturealign.data.culturebank import load_culturebank

        g = self.spec.grounded
        inputs = {"source": g.source, "full": g.full, "limit": g.limit}

        def work(out: Path) -> None:
            rows = load_culturebank(g.source, g.full).rows[: g.limit]
            _write_jsonl(out / STAGE1, knowledge_rows(rows))

        return self._stage("stage1_data", inputs, work) / STAGE1

    def adapter(self, stage: int, model: str, data: Path) -> Path:
        from culturealign.alignment.recipes.common import RUNTIME_FIELDS
        from culturealign.alignment.recipes.sft_adapter import sft_config, train_adapter

        settings = self.spec.sft(stage)
        keyed = {k: v for k, v in settings.items() if k not in RUNTIME_FIELDS}
        inputs = {"stage": stage, "model": self.spec.model, "data": data.parent.name, "sft": keyed}
        runtime = {"threads": t} if (t := self.spec.model_options.get("threads")) else {}

        def work(out: Path) -> None:
            train_adapter(sft_config(model, data, out, settings | runtime), self.console)

        return self._stage(f"adapter{stage}", inputs, work)

    def merged(self, adapter: Path) -> Path:
        from culturealign.alignment.export import merge_adapter

        inputs = {"model": self.spec.model, "adapter": adapter.name}
        return (
            self._stage(
                "merged", inputs, lambda out: merge_adapter(self.spec.model, adapter, out / MERGED)
            )
            / MERGED
        )

    def augmented(self, grounded: Path, merged: Path) -> Path:
        from culturealign.culturebank_sft.data import augmented_answers, low_scoring
        from culturealign.evaluation.records import read_items

        a, threshold = self.spec.augment, self.spec.grounded.threshold
        inputs: dict[str, Any] = {"grounded": grounded.name, "merged": merged.parent.name}
        inputs |= {"augment": a.model_dump(), "threshold": threshold}

        def work(out: Path) -> None:
            items = low_scoring(read_items(grounded / ITEMS_FILE), threshold)
            student = self._load(str(merged))
            teacher = student if a.teacher is None else self._load(a.teacher)
            stats = augmented_answers(teacher, student, items, a, out / STAGE2)
            write_json_atomic(out / "augment.json", stats)
            self.console.print(f"  stage 2: {stats}")

        return self._stage("stage2_data", inputs, work) / STAGE2


def run_spec(path: Path, out_dir: Path | None, report: bool, restart: bool, console: Any) -> None:
    """Run every step of a culturebank-sft spec (cached stages), then write the table."""
    run_culturebank_sft(path, out_dir, restart, console)


def run_culturebank_sft(
    path: Path, out_dir: Path | None, restart: bool, console: Any, threads: int | None = None
) -> dict[str, Any]:
    """:func:`run_spec` with a CPU thread count for every model load and training."""
    from culturealign.culturebank_sft.report import compare, table_markdown

    spec = load_culturebank_sft_spec(path)
    if threads is not None:
        options = {**spec.model_options, "threads": threads}
        spec = spec.model_copy(update={"model_options": options})
    with open_run(out_dir or Path("runs") / spec.name, path, restart) as root:
        p = Pipeline(spec, root, console)
        grounded = p.evaluate("base", spec.model, None, "culturebank-grounded")
        adapter1 = p.adapter(1, spec.model, p.knowledge())
        merged = p.merged(adapter1)
        stage2 = p.augmented(grounded, merged)
        if not stage2.read_text(encoding="utf-8").strip():
            raise CultureAlignError(
                f"no stage-2 rows in {stage2}: no grounded question scored below "
                f"{spec.grounded.threshold}, or every augmented answer was empty",
                "raise grounded.threshold, or check the teacher's answers",
            )
        adapter2 = p.adapter(2, str(merged), stage2)
        runs: dict[str, dict[str, Path]] = {"base": {}, "two-stage": {}}
        for task in _tasks(spec):
            runs["base"][task] = p.evaluate("base", spec.model, None, task)
            runs["two-stage"][task] = p.evaluate("two-stage", str(merged), adapter2, task)
        result = compare(runs)
        write_json_atomic(root / TABLE_JSON, result)
        table = table_markdown(result)
        write_text_atomic(root / TABLE_MD, table)
        console.print(table)
        console.print(f"wrote {root / TABLE_MD}")
        return result


def _tasks(spec: CultureBankSFTSpec) -> list[str]:
    ev = spec.evaluate
    wanted = {"globalopinionqa": ev.globalopinionqa is not None, "cali": ev.cali is not None}
    wanted["culturebank-grounded"] = ev.grounded
    return [t for t, on in wanted.items() if on]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    import json

    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    write_text_atomic(path, text)
