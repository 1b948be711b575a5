"""The WVS values study's commands: official survey data, distillation (issue 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from culturealign.cli.consoles import console, out

wvs_app = typer.Typer(
    help="The WVS values study: official wave 7 data, model comparison, distillation.",
    no_args_is_help=True,
)


@wvs_app.command("prepare")
def prepare_cmd(
    file: Annotated[
        Path, typer.Argument(help="The official WVS wave 7 file (.csv, .sav or .dta).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the prepared files.")] = Path(
        "wvs-official"
    ),
    weights: Annotated[
        bool, typer.Option("--weights/--no-weights", help="Apply the survey weight W_WEIGHT.")
    ] = True,
) -> None:
    """Per-country weighted answer shares and means of the WorldValuesBench value questions."""
    from culturealign.wvs_study.official import WEIGHT, prepare

    prepared = prepare(file, out_dir, weight=WEIGHT if weights else None)
    out.print(
        f"{len(prepared.countries)} countries x {len(prepared.questions)} questions "
        f"({'weighted' if prepared.weighted else 'unweighted'}) -> {out_dir}"
    )
    out.print(f"use it in a spec: data: {{source: official, prepared: {out_dir}}}")


@wvs_app.command("distill")
def distill_cmd(
    spec: Annotated[Path, typer.Argument(help="A kind: wvs-study spec with a distill block.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run folder (default: runs/<spec name>).")
    ] = None,
) -> None:
    """Only the spec's distillation: teacher answers -> SFT -> student r before/after."""
    from culturealign.errors import CultureAlignError
    from culturealign.experiments.spec import find_spec
    from culturealign.wvs_study.distill import run_distillation
    from culturealign.wvs_study.spec import load_study_spec
    from culturealign.wvs_study.survey import study_survey

    path = find_spec(spec)
    study = load_study_spec(path)
    if study.distill is None:
        raise CultureAlignError(f"{path} has no distill block", "see docs/tasks/wvs.md")
    target = (out_dir or Path("runs") / study.name) / "distill"
    result = run_distillation(study, study_survey(study.data.model_dump()), target, console)
    out.print(f"r before {result['r']['student_before']} after {result['r']['student_after']}")
    out.print(f"report: {target / 'distill.md'}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called by culturealign.cli)."""
    app.add_typer(wvs_app, name="wvs")
