"""The ``culturealign`` command line."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from culturealign.errors import CultureAlignError

app = typer.Typer(
    help="Measure and change how language models judge morality and values across cultures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def main() -> None:
    """Entry point: user errors print one clear message and exit 2, never a traceback."""
    try:
        app()
    except CultureAlignError as exc:
        console.print(f"[bold red]error:[/] {exc.message}")
        if exc.hint:
            console.print(f"[yellow]fix:[/] {exc.hint}")
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: finished items are saved; re-run to resume[/]")
        sys.exit(130)


@app.command()
def models(
    rebuild: Annotated[
        str | None, typer.Option(help="Delete and re-convert this embedded model's cache.")
    ] = None,
    convert: Annotated[
        bool, typer.Option("--convert", help="Convert every installed model not yet cached.")
    ] = False,
) -> None:
    """List the embedded default models and whether they are installed and converted."""
    from rich.table import Column, Table

    from culturealign.models.embedded import (
        EMBEDDED,
        converted_dir,
        ensure_converted,
        is_converted,
        is_installed,
    )

    if rebuild is not None:
        if rebuild not in EMBEDDED:
            raise CultureAlignError(
                f"unknown embedded model {rebuild!r}", f"choose one of: {', '.join(EMBEDDED)}"
            )
        with console.status(f"converting {rebuild} (30-90 s)"):
            ensure_converted(rebuild, rebuild=True)
    for m in EMBEDDED.values() if convert else ():
        if is_installed(m) and not is_converted(m.name):
            with console.status(f"converting {m.name} (30-90 s, once)"):
                ensure_converted(m.name)
    table = Table(
        Column("name", no_wrap=True), "kind", "installed", "converted cache", "description"
    )
    for m in EMBEDDED.values():
        cached = str(converted_dir(m.name)) if is_converted(m.name) else "not yet (first use)"
        installed = "yes" if is_installed(m) else f"no: {m.install}"
        table.add_row(m.name, "chat" if m.chat else "base", installed, cached, m.description)
    out.print(table)
    out.print("Any local transformers folder or Hugging Face hub id works as --model too.")


@app.command()
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


@app.command("eval")
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
    task_arg: Annotated[
        list[str], typer.Option("-T", "--task-arg", help="Extra task argument key=value.")
    ] = [],  # noqa: B006 (typer needs a literal default)
) -> None:
    """Evaluate a model on a task; prints the results table and writes per-item results."""
    from culturealign.evaluation import build_task, run_with_progress
    from culturealign.evaluation.runner import markdown_table, resolve_generation

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
    slug = model.rstrip("/").split("/")[-1]
    out_dir = (
        out_dir or Path("runs") / "eval" / f"{built.name}-{slug}{'-adapter' if adapter else ''}"
    )
    summary = run_with_progress(
        built,
        model,
        out_dir,
        adapter=adapter,
        threads=threads,
        generation=resolve_generation(built, max_new_tokens, temperature, top_p, seed),
        console=console,
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


def _register_subcommands() -> None:
    # Alignment and experiment commands live in their own modules; their heavy imports stay lazy.
    from culturealign.cli.experiments import demo_cmd, report_cmd, run_cmd
    from culturealign.cli_align import export_cmd, prefs_app, train_app

    app.add_typer(prefs_app, name="prefs")
    app.add_typer(train_app, name="train")
    app.command("export")(export_cmd)
    app.command("run")(run_cmd)
    app.command("report")(report_cmd)
    app.command("demo")(demo_cmd)


_register_subcommands()

if __name__ == "__main__":  # pragma: no cover
    main()
