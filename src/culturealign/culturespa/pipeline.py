"""``culturealign run <spec>`` for ``kind: culturespa``: the five steps as cached stages.

Run folder (default ``runs/<name>``): ``stages/<step>/<key>/`` (content-addressed by the step's
inputs, see :mod:`culturealign.experiments.cache`; a killed step resumes from its ``.partial``
folder), then ``table.md`` / ``table.json`` (the before/after WVS-18 table).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from culturealign.culturespa.spec import CultureSPASpec, load_culturespa_spec
from culturealign.experiments.cache import StageStore, stage_key
from culturealign.experiments.pipeline_run import open_run
from culturealign.paths import write_json_atomic, write_text_atomic

TABLE_MD, TABLE_JSON = "table.md", "table.json"


class Pipeline:
    """One spec's stages; each method returns its finished stage folder."""

    def __init__(self, spec: CultureSPASpec, root: Path, console: Any) -> None:
        self.spec, self.console = spec, console
        self.store = StageStore(root / "stages")
        self._model: Any = None

    def model(self) -> Any:
        if self._model is None:
            from culturealign.models import load_model

            self._model = load_model(self.spec.model, self.spec.backend, **self.spec.model_options)
        return self._model

    def _stage(self, kind: str, inputs: dict[str, Any], work: Any) -> Path:
        key = stage_key(kind, inputs)
        result = self.store.run(kind, key, inputs, work)
        self.console.print(f"{kind}: {'cached' if result.cached else 'done'} ({result.path})")
        return result.path

    def _base_inputs(self) -> dict[str, Any]:
        return {"model": self.spec.model, "backend": self.spec.backend}

    def questions(self) -> Path:
        from culturealign.culturespa.generate import generate_questions

        inputs = {**self._base_inputs(), "generate": self.spec.generate.model_dump()}

        def work(out: Path) -> None:
            gen = self.spec.generate
            model = self.model() if gen.source == "model" else None  # release: no model needed
            stats = generate_questions(model, gen, out, self.console)
            for topic, s in stats["per_topic"].items():
                self.console.print(f"  {topic}: kept {s['kept']} of {s['attempts']} {s['dropped']}")

        return self._stage("questions", inputs, work)

    def answers(self, questions: Path) -> Path:
        from culturealign.culturespa.answer import answer_questions
        from culturealign.culturespa.generate import QUESTIONS_FILE, read_questions

        inputs = {"questions": questions.name, **self._base_inputs()}
        inputs["answer"] = self.spec.answer.model_dump()

        def work(out: Path) -> None:
            rows = read_questions(questions / QUESTIONS_FILE)
            stats = answer_questions(self.model(), rows, self.spec.answer, out, self.console)
            write_json_atomic(out / "answer_stats.json", stats)

        return self._stage("answers", inputs, work)

    def sft_data(self, answers: Path) -> Path:
        from culturealign.culturespa.answer import ANSWERS_FILE, read_answers
        from culturealign.culturespa.filter import write_sft_sets

        inputs = {"answers": answers.name, "countries": self.spec.answer.countries}

        def work(out: Path) -> None:
            stats = write_sft_sets(
                read_answers(answers / ANSWERS_FILE), self.spec.answer.countries, out
            )
            self.console.print(f"  filter: kept {stats['per_country']} (joint {stats['joint']})")

        return self._stage("sft_data", inputs, work)

    def adapters(self, data: Path) -> dict[str, Path]:
        from culturealign.alignment.recipes.common import RUNTIME_FIELDS
        from culturealign.alignment.recipes.sft_adapter import sft_config, train_adapter
        from culturealign.culturespa.filter import JOINT

        sets = {}
        if "joint" in self.spec.train.adapters:
            sets["joint"] = data / JOINT
        if "specific" in self.spec.train.adapters:
            sets |= {c: data / f"{c}.jsonl" for c in self.spec.answer.countries}
        out = {}
        for name, file in sets.items():
            if not file.read_text(encoding="utf-8").strip():
                self.console.print(f"  {name}: no training rows survived the filter; skipped")
                continue
            sft = {k: v for k, v in self.spec.train.sft.items() if k not in RUNTIME_FIELDS}
            inputs = {"data": f"{data.name}/{file.name}", "model": self.spec.model, "sft": sft}
            out[name] = self._stage(
                "adapter",
                inputs,
                lambda o, f=file: train_adapter(
                    sft_config(self.spec.model, f, o, self.spec.train.sft), self.console
                ),
            )
        return out

    def evaluate(self, adapters: dict[str, Path]) -> dict[str, Any]:
        from culturealign.culturespa.evaluate import compare
        from culturealign.data.wvs import load_culturespa_wvs
        from culturealign.evaluation.runner import run_task
        from culturealign.evaluation.tasks.survey import wvs_culturespa
        from culturealign.layout import ITEMS_FILE
        from culturealign.models import load_model

        ev, countries = self.spec.evaluate, self.spec.answer.countries
        runs = {}
        for name, adapter in {"base": None, **adapters}.items():
            inputs = {**self._base_inputs(), "adapter": adapter.name if adapter else None}
            inputs |= {"evaluate": ev.model_dump(), "countries": countries}

            def work(out: Path, adapter: Path | None = adapter) -> None:
                task = wvs_culturespa(
                    persona="aware", mode=ev.mode, countries=",".join(countries), limit=ev.limit
                )
                model = load_model(
                    self.spec.model, self.spec.backend, adapter=adapter, **self.spec.model_options
                )
                run_task(task, model, out)

            runs[name] = self._stage("evaluate", inputs, work) / ITEMS_FILE
        survey = load_culturespa_wvs(countries=countries).head(ev.limit)
        return compare(survey, runs, "base")


def run_spec(path: Path, out_dir: Path | None, report: bool, restart: bool, console: Any) -> None:
    """Run every step of a culturespa spec (cached stages), then write the before/after table."""
    run_culturespa(path, out_dir, report, restart, console)


def run_culturespa(
    path: Path,
    out_dir: Path | None,
    report: bool,
    restart: bool,
    console: Any,
    threads: int | None = None,
) -> dict[str, Any]:
    """:func:`run_spec` with a CPU thread count for every model load and training."""
    from culturealign.culturespa.evaluate import table_markdown

    spec = load_culturespa_spec(path)
    if threads is not None:
        spec = with_threads(spec, threads)
    with open_run(out_dir or Path("runs") / spec.name, path, restart) as root:
        p = Pipeline(spec, root, console)
        questions = p.questions()
        answers = p.answers(questions)
        data = p.sft_data(answers)
        p._model = None  # free the generation model before training loads its own
        adapters = p.adapters(data)
        result = p.evaluate(adapters)
        write_json_atomic(root / TABLE_JSON, result)
        table = table_markdown(result)
        write_text_atomic(root / TABLE_MD, table)
        console.print(table)
        console.print(f"wrote {root / TABLE_MD}")
        return result


def with_threads(spec: CultureSPASpec, threads: int) -> CultureSPASpec:
    """The spec with ``threads`` for model loads and SFT (a runtime field: no stage key moves)."""
    options = {**spec.model_options, "threads": threads}
    train = spec.train.model_copy(update={"sft": {**spec.train.sft, "threads": threads}})
    return spec.model_copy(update={"model_options": options, "train": train})
