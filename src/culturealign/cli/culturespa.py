"""The CultureSPA pipeline's commands (issue 12): each step alone, or a whole spec."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any

import typer

from culturealign.cli.consoles import console, out
from culturealign.cli.scale_options import RayAddress, Workers

culturespa_app = typer.Typer(
    help="CultureSPA: self-generated culture questions -> aware/unaware answers -> "
    "inconsistency filter -> LoRA SFT -> before/after WVS-18 table (docs/tasks/culturespa.md).",
    no_args_is_help=True,
)
Threads = Annotated[int | None, typer.Option(help="CPU threads (default: free cores).")]
Model = Annotated[str, typer.Option(help="Embedded name, local folder, hub id or prefixed id.")]
Countries = Annotated[
    str | None, typer.Option(help="Comma-separated ISO3 codes (default: the 18 of the paper).")
]


def _generation_model(
    model: str, backend: str, threads: int | None, workers: int | None, ray_address: str | None
) -> AbstractContextManager[Any]:
    from culturealign.evaluation.parallel import generation_model

    options = {"backend": backend, **({"threads": threads} if threads else {})}
    return generation_model(model, workers, options, ray_address)


def _countries(countries: str | None) -> list[str] | None:
    return [c.strip() for c in countries.split(",") if c.strip()] if countries else None


@culturespa_app.command("generate")
def generate_cmd(
    model: Model,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder; re-run to resume.")],
    topics: Annotated[
        str, typer.Option(help="Topic indices 0-12, comma-separated.")
    ] = "0,1,2,3,4,5,6,7,8,9,10,11,12",
    per_topic: Annotated[int, typer.Option(help="Questions kept per topic.")] = 1000,
    max_new_tokens: Annotated[int, typer.Option(help="Release: 256.")] = 256,
    batch_size: Annotated[int, typer.Option(help="Prompts per round.")] = 16,
    seed: int = 0,
    source: Annotated[
        str, typer.Option(help="model: generate; release: filter the release's 13k questions.")
    ] = "model",
    backend: str = "hf",
    threads: Threads = None,
    workers: Workers = None,
    ray_address: RayAddress = None,
) -> None:
    """Step 1: Self-Instruct questions per WVS topic (parse, drop malformed, dedup)."""
    from pydantic import ValidationError

    from culturealign.culturespa.generate import GenerateSettings, generate_questions
    from culturealign.errors import CultureAlignError

    try:
        cfg = GenerateSettings(
            topics=[int(t) for t in topics.split(",")],
            per_topic=per_topic,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            seed=seed,
            source=source,  # type: ignore[arg-type]
        )
    except (ValidationError, ValueError) as exc:
        raise CultureAlignError(f"invalid generate settings: {exc}", "see --help") from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    if source == "model":
        with _generation_model(model, backend, threads, workers, ray_address) as lm:
            stats = generate_questions(lm, cfg, out_dir, console)
    else:
        stats = generate_questions(None, cfg, out_dir, console)
    for topic, s in stats["per_topic"].items():
        out.print(f"{topic}: kept {s['kept']} of {s['attempts']} attempts; dropped {s['dropped']}")
    rate = stats["questions_per_s"] or "n/a (no generation)"
    out.print(f"{rate} questions/s -> {out_dir / 'questions.jsonl'}")


@culturespa_app.command("answer")
def answer_cmd(
    model: Model,
    questions: Annotated[Path, typer.Option(help="questions.jsonl from `generate`.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder; re-run to resume.")],
    countries: Countries = None,
    max_new_tokens: Annotated[int, typer.Option(help="Release: 256.")] = 256,
    seeds: Annotated[str, typer.Option(help="One answer pass per seed, comma-separated.")] = "42",
    backend: str = "hf",
    threads: Threads = None,
    workers: Workers = None,
    ray_address: RayAddress = None,
) -> None:
    """Step 2: culture-unaware and culture-aware answers to every question."""
    from culturealign.culturespa.answer import AnswerSettings, answer_questions
    from culturealign.culturespa.generate import read_questions
    from culturealign.errors import CultureAlignError

    if not questions.is_file():
        raise CultureAlignError(
            f"questions file not found: {questions}", "run `culturespa generate`"
        )
    extra = {"countries": _countries(countries)} if countries else {}
    cfg = AnswerSettings(
        max_new_tokens=max_new_tokens, seeds=[int(s) for s in seeds.split(",")], **extra
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    with _generation_model(model, backend, threads, workers, ray_address) as lm:
        stats = answer_questions(lm, read_questions(questions), cfg, out_dir, console)
    out.print(
        f"{stats['answers']} answers ({stats['parsed']} parsed), {stats['answers_per_s']} answers/s"
    )


@culturespa_app.command("filter")
def filter_cmd(
    answers: Annotated[Path, typer.Option(help="Folder of `answer` (answers.jsonl).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for joint.jsonl, <ISO3>.jsonl.")],
    countries: Countries = None,
) -> None:
    """Step 3: keep answers where culture-aware != culture-unaware; write SFT rows."""
    from culturealign.culturespa.answer import ANSWERS_FILE, read_answers
    from culturealign.culturespa.filter import write_sft_sets
    from culturealign.errors import CultureAlignError

    rows = read_answers(answers / ANSWERS_FILE)
    if not rows:
        raise CultureAlignError(f"no answers in {answers}", "run `culturespa answer` first")
    found = sorted({c for _, c, _ in rows} - {"-"})
    stats = write_sft_sets(rows, _countries(countries) or found, out_dir)
    for c, s in stats["per_country"].items():
        out.print(f"{c}: {s['kept']} of {s['answered']} kept")
    out.print(f"joint: {stats['joint']} rows -> {out_dir}")


@culturespa_app.command("run")
def run_cmd(
    spec: Annotated[Path, typer.Argument(help="A kind: culturespa spec.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Run folder.")] = None,
    restart: Annotated[bool, typer.Option(help="Delete the run folder first.")] = False,
    threads: Threads = None,
) -> None:
    """All steps of a spec as cached stages (= `culturealign run <spec>` with --threads).

    Training uses `culturealign train sft --data <sft folder>/joint.jsonl`; the evaluation is
    `culturealign eval wvs-culturespa --persona aware` (both also run alone)."""
    from culturealign.culturespa.pipeline import run_culturespa
    from culturealign.experiments.spec import find_spec

    run_culturespa(find_spec(spec), out_dir, True, restart, console, threads)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called by culturealign.cli)."""
    app.add_typer(culturespa_app, name="culturespa")
