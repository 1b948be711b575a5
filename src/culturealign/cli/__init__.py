"""The ``culturealign`` command line: ``app`` and ``main``; one module per command group.

cli/eval.py (eval, tasks), cli/models.py (models), cli/experiments.py (run, report, demo);
cli/train.py (prefs, train, export). The entry point is ``culturealign.cli:main``.
"""

from __future__ import annotations

import atexit
import gc
import sys

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


def main() -> None:
    """Entry point: user errors print one clear message and exit 2, never a traceback."""
    # Results are written and fsynced before exit; skip the interpreter's last GC passes over
    # ~3k modules (about 1 s with torch + transformers loaded). atexit handlers still run.
    atexit.register(gc.freeze)
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
