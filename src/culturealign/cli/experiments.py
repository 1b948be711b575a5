"""``culturealign run`` / ``report`` / ``demo``: the experiment grid as one command.

Registered in :mod:`culturealign.cli` with ``app.command("run")(run_cmd)`` and friends; errors
are CultureAlignError, which the CLI's ``main`` prints as one message with a fix.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)
out = Console()

DEMO_SPEC = "demo"


def run_cmd(
    spec: Annotated[
        Path,
        typer.Argument(
            help="Experiment spec: a YAML file, or the name of a shipped one (demo, "
            "demo_translated, jinnai2024_table3, culturespa_demo, culturespa_release, wvs2024, "
            "wvs2024_embedded)."
        ),
    ],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run folder (default: runs/<spec name>).")
    ] = None,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write the report when done.")
    ] = True,
    restart: Annotated[
        bool,
        typer.Option(help="Delete unfinished stages and start them over instead of resuming."),
    ] = False,
    report_to: Annotated[
        str,
        typer.Option(
            "--report-to",
            help="Also log the report and results to tensorboard, mlflow or wandb "
            "(comma-separated; grid specs).",
        ),
    ] = "none",
) -> None:
    """Run every stage of an experiment (pairs, train, evaluate); cached and resumable."""
    from culturealign.experiments.kinds import GRID, run_pipeline, spec_kind
    from culturealign.experiments.spec import find_spec, load_spec
    from culturealign.tracking import parse_report_to

    path = find_spec(spec)
    kind = spec_kind(path)
    if kind != GRID:
        run_pipeline(kind, path, out_dir, report, restart, console)
        return
    trackers = parse_report_to(report_to)
    target = out_dir or Path("runs") / load_spec(path).name
    _run(path, target, report or bool(trackers), restart)
    if trackers:
        from culturealign.tracking import log_files

        names = ("report.md", "report.html", "heatmap.png", "flips.csv", "plan.json")
        log_files(trackers, [target / n for n in names], f"run-{target.name}", target)


def report_cmd(
    runs: Annotated[list[Path], typer.Argument(help="One run folder, or several to compare.")],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Report folder (default: the run folder; compare-* for many)."),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(
            help="Two mt-bench-ja eval runs: the pairwise judge (default: run A's judge, else its "
            "model)."
        ),
    ] = None,
    judge_max_new_tokens: Annotated[int, typer.Option(help="Pairwise judge output length.")] = 1024,
    threads: Annotated[int | None, typer.Option(help="CPU threads for the judge.")] = None,
) -> None:
    """Write the Markdown + HTML report of a run, or of several runs side by side; two
    mt-bench-ja runs (e.g. base vs aligned) are compared pairwise by an LLM judge."""
    from culturealign.reports.mt_bench import compare_runs, is_mt_bench_run

    if len(runs) == 2 and all(is_mt_bench_run(r) for r in runs):
        target = out_dir or runs[0].parent / f"compare-{runs[0].name}-vs-{runs[1].name}"
        path = compare_runs(runs[0], runs[1], judge, target, threads, judge_max_new_tokens)
        out.print(path.read_text(encoding="utf-8"), markup=False, soft_wrap=True)
        out.print(f"report: {path}")
        return
    from culturealign.reports.experiment import write_experiment_report

    files = write_experiment_report(runs, out_dir)
    _print_report(files)


def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder.")] = Path("runs/demo"),
) -> None:
    """Run the shipped demo spec on the embedded gemma-3-270m (CPU; docs/results/demo.md)."""
    from culturealign.experiments.spec import shipped_specs

    spec = shipped_specs()[DEMO_SPEC]
    started = time.perf_counter()
    _run(spec, out_dir, report=True, restart=False)
    console.print(f"demo finished in {(time.perf_counter() - started) / 60:.1f} min")


def _run(spec_path: Path, target: Path, report: bool, restart: bool) -> None:
    from culturealign.experiments.executor import clean_partials, run_experiment
    from culturealign.experiments.services import LibraryServices
    from culturealign.experiments.spec import load_spec
    from culturealign.experiments.status import stage_progress
    from culturealign.reports.experiment import write_experiment_report

    spec = load_spec(spec_path)
    if restart:
        console.print(f"removed {clean_partials(target)} unfinished stage(s)")
    with stage_progress(console) as reporter:
        plan = run_experiment(
            spec, target, LibraryServices(), reporter, spec_path.read_text(encoding="utf-8")
        )
    for cell in plan.cells:
        if cell.reason:
            console.print(
                f"[yellow]not run:[/] {cell.model} / {cell.row} / {cell.column}: {cell.reason}"
            )
    out.print(f"run folder: {target}")
    if report:
        _print_report(write_experiment_report([target]))


def _print_report(files) -> None:
    out.print(f"report: {files.markdown}")
    out.print(f"        {files.html}")
