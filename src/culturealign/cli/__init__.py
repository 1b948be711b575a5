"""The ``culturealign`` command line: ``app`` and ``main``; one module per command group.

cli/eval.py (eval, tasks), cli/models.py (models), cli/experiments.py (run, report, demo);
cli/train.py (prefs, train, export). The entry point is ``culturealign.cli:main``.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
from typing import Annotated

import typer

from culturealign.cli.consoles import console, out
from culturealign.errors import CultureAlignError

__all__ = ["app", "console", "main", "out"]

app = typer.Typer(
    help="Measure and change how language models judge morality and values across cultures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only results and errors (no progress).")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Also show library logs and transformers' own loading bars."
        ),
    ] = False,
) -> None:
    """Measure and change how language models judge morality and values across cultures."""
    set_verbosity(quiet=quiet, verbose=verbose)


def set_verbosity(quiet: bool = False, verbose: bool = False) -> None:
    """Normal: our progress only (transformers' bars and advice folded away); see the flags."""
    if quiet and verbose:
        raise CultureAlignError("--quiet and --verbose contradict each other", "pick one")
    console.quiet = quiet
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "info")
        return
    # Read when transformers / huggingface_hub are imported (inside the commands, later).
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # TRL's dataset.map bars
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def main() -> None:
    """Entry point: user errors print one clear message and exit 2, never a traceback."""
    # Results are written and fsynced before exit; skip the interpreter's last GC passes over
    # ~3k modules (about 1 s with torch + transformers loaded). atexit handlers still run.
    atexit.register(gc.freeze)
    try:
        app()
    except CultureAlignError as exc:
        console.quiet = False  # errors always print, --quiet or not
        console.print(f"[bold red]error:[/] {exc.message}")
        if exc.hint:
            console.print(f"[yellow]fix:[/] {exc.hint}")
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: finished items are saved; re-run to resume[/]")
        sys.exit(130)


# Command modules that add their own commands (each has ``register(app)``), after the core ones.
PIPELINE_COMMANDS = (
    "culturealign.cli.translate",
    "culturealign.cli.rewards",
    "culturealign.cli.judged",
    "culturealign.cli.culturespa",
    "culturealign.cli.wvs",
)


def _register_commands() -> None:
    # One module per command group; each keeps its heavy imports inside the commands.
    # Registration order is the order `culturealign --help` lists the commands in.
    import importlib

    from culturealign.cli.eval import eval_cmd, tasks
    from culturealign.cli.experiments import demo_cmd, report_cmd, run_cmd
    from culturealign.cli.models import models
    from culturealign.cli.train import export_cmd, prefs_app, train_app

    app.command()(models)
    app.command()(tasks)
    app.command("eval")(eval_cmd)
    app.add_typer(prefs_app, name="prefs")
    app.add_typer(train_app, name="train")
    app.command("export")(export_cmd)
    app.command("run")(run_cmd)
    app.command("report")(report_cmd)
    app.command("demo")(demo_cmd)
    for module in PIPELINE_COMMANDS:
        importlib.import_module(module).register(app)


_register_commands()
