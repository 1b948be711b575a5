"""``culturealign eval`` and ``culturealign tasks``: one model on one task, and the task list.

Task lookup and option checking live in culturealign.evaluation.registry; this module only turns
options into that call. Heavy imports (torch, transformers) happen inside the commands.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from culturealign.cli.consoles import console, out
from culturealign.cli.scale_options import RayAddress
from culturealign.errors import CultureAlignError


def tasks() -> None:
    """List the evaluation tasks."""
    from culturealign.evaluation import registered_tasks

    for name, factory in registered_tasks().items():
        doc = (inspect.getdoc(factory) or "").splitlines()[0]
        out.print(f"[bold]{name}[/]  {doc}")


def _parse_kv(pairs: list[str], what: str) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CultureAlignError(f"bad {what} {pair!r}", f"write it as key=value ({what})")
        parsed[key.strip()] = value.strip()
    return parsed


def eval_cmd(
    model: Annotated[str, typer.Option(help="Embedded name, local folder or hub id.")],
    task: Annotated[str, typer.Option(help="Task name (see `culturealign tasks`).")],
    adapter: Annotated[Path | None, typer.Option(help="LoRA adapter folder.")] = None,
    shots: Annotated[
        int | None, typer.Option(help="Few-shot examples (task default if unset).")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="choice (log-probs, default) or generate (parse text)."),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            help="Moral tasks: a study's evaluation protocol, e.g. jinnai2024 (sampled answers, "
            "temperature 1.0, top-p 0.7, 256 new tokens; off-format = N/A)."
        ),
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Dataset split (task default if unset).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Evaluate only the first N items.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output directory.")] = None,
    prompt_language: Annotated[str | None, typer.Option(help="ja or en prompt.")] = None,
    chat: Annotated[
        bool | None, typer.Option("--chat/--no-chat", help="Force the chat template on/off.")
    ] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    persona: Annotated[str | None, typer.Option(help="Survey tasks: aware|unaware|both.")] = None,
    path: Annotated[Path | None, typer.Option(help="Data file (task 'judgement').")] = None,
    data_path: Annotated[Path | None, typer.Option(help="Local dataset file or folder.")] = None,
    text_column: Annotated[str | None, typer.Option(help="Text column (task 'judgement').")] = None,
    label_column: Annotated[str | None, typer.Option(help="Label column.")] = None,
    label_values: Annotated[
        str | None, typer.Option(help="Raw label to 1/0, e.g. 'wrong=1,ok=0'.")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Language of a judgement file.")] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option(help="Generation length (generate mode; task default or 8).")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option(help="Sampling temperature; 0 = greedy (task default or 0).")
    ] = None,
    top_p: Annotated[float | None, typer.Option(help="Nucleus sampling top-p.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: free cores).")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(help="Requests in flight for HTTP backends (openai:...; docs/backends.md)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Shard items over N Ray actors, each holding its own model (docs/scaling.md)."
        ),
    ] = None,
    ray_address: RayAddress = None,
    shard_size: Annotated[
        int | None,
        typer.Option(
            help="With --workers, choice mode: items per shard (default 64, the single-process "
            "chunk; smaller moves scores in the 5th decimal)."
        ),
    ] = None,
    task_arg: Annotated[
        list[str], typer.Option("-T", "--task-arg", help="Extra task argument key=value.")
    ] = [],  # noqa: B006 (typer needs a literal default)
    report_to: Annotated[
        str,
        typer.Option(
            "--report-to",
            help="Also log the summary and results files to tensorboard, mlflow or wandb "
            "(comma-separated).",
        ),
    ] = "none",
) -> None:
    """Evaluate a model on a task; prints the results table and writes per-item results."""
    from culturealign.evaluation import build_task, run_with_progress
    from culturealign.evaluation.runner import resolve_generation
    from culturealign.reports.summary_table import markdown_table
    from culturealign.tracking import parse_report_to

    trackers = parse_report_to(report_to)  # a typo fails before any work

    labels = None
    if label_values:
        labels = {k: int(v) for k, v in _parse_kv(label_values.split(","), "label value").items()}
    given: dict[str, Any] = dict(
        shots=shots,
        mode=mode,
        protocol=protocol,
        split=split,
        limit=limit,
        prompt_language=prompt_language,
        chat=chat,
        system=system,
        persona=persona,
        path=path,
        data_path=data_path,
        text_column=text_column,
        label_column=label_column,
        label_values=labels,
        language=language,
    )
    given.update(_parse_kv(task_arg, "task argument"))
    built = build_task(task, {k: v for k, v in given.items() if v is not None})
    from culturealign.models.registry import model_slug

    slug = model_slug(model)
    out_dir = (
        out_dir or Path("runs") / "eval" / f"{built.name}-{slug}{'-adapter' if adapter else ''}"
    )
    generation = resolve_generation(built, max_new_tokens, temperature, top_p, seed)
    if workers is None and (ray_address or shard_size):
        raise CultureAlignError(
            "--ray-address and --shard-size apply to Ray runs only", "add --workers N"
        )
    if workers is not None:
        summary = _run_on_ray(
            built, model, out_dir, workers, ray_address, shard_size, generation,
            {"adapter": adapter, "threads": threads, "concurrency": concurrency},
        )  # fmt: skip
    else:
        summary = run_with_progress(
            built,
            model,
            out_dir,
            adapter=adapter,
            threads=threads,
            generation=generation,
            console=console,
            concurrency=concurrency,
        )
    out.print(markdown_table([summary]), markup=False, soft_wrap=True)
    for key, change in summary.get("generation_departs_from_task", {}).items():
        console.print(
            f"[yellow]note:[/] {key}={change['used']} departs from the task's {change['task']}: "
            "a variant of its protocol"
        )
    for note in summary["dataset"].get("notes", []):
        console.print(f"[yellow]note:[/] {note}")
    out.print(f"results: {out_dir}")
    if trackers:
        from culturealign import layout
        from culturealign.tracking import log_files

        names = (layout.SUMMARY_FILE, layout.RESULTS_FILE, layout.REPORT_MD,
                 layout.PER_COUNTRY_CSV, layout.PER_COUNTRY_PNG)  # fmt: skip
        log_files(trackers, [out_dir / n for n in names], f"eval-{out_dir.name}", out_dir)


def _run_on_ray(
    task: Any,
    model: str,
    out_dir: Path,
    workers: int,
    ray_address: str | None,
    shard_size: int | None,
    generation: Any,
    options: dict[str, Any],
) -> dict[str, Any]:
    from culturealign.evaluation.parallel import run_task_parallel
    from culturealign.progress import progress

    with progress(console) as bar:

        def factory(total: int, done: int) -> Any:
            tid: Any = bar.add_task(f"[bold]{task.name}[/] x{workers}", total=total, completed=done)
            return lambda n: bar.advance(tid, n)

        return run_task_parallel(
            task, model, out_dir, workers, options, generation, factory, ray_address, shard_size
        )
