"""run / report / demo commands (cli/experiments.py) through a local typer app."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from culturealign.cli.experiments import demo_cmd, report_cmd, run_cmd
from culturealign.errors import CultureAlignError
from culturealign.experiments.executor import run_experiment
from culturealign.experiments.spec import load_spec
from tests.experiments import fakes
from tests.experiments.conftest import write_spec

app = typer.Typer()
app.command("run")(run_cmd)
app.command("report")(report_cmd)
app.command("demo")(demo_cmd)
runner = CliRunner()


def test_help_of_each_command():
    for command in ("run", "report", "demo"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, result.output
    assert "--out" in runner.invoke(app, ["run", "--help"]).output


def test_run_with_an_invalid_spec_names_the_field(grid, tmp_path):
    grid["evaluations"][0]["optons"] = {}
    spec = write_spec(tmp_path / "bad.yaml", grid)
    result = runner.invoke(app, ["run", str(spec), "--out", str(tmp_path / "o")])
    assert isinstance(result.exception, CultureAlignError)
    assert "evaluations.0.optons: unknown field" in result.exception.message
    assert not (tmp_path / "o").exists()


def test_report_command_on_one_and_two_runs(grid, tmp_path):
    spec = load_spec(write_spec(tmp_path / "spec.yaml", grid))
    run_experiment(spec, tmp_path / "a", fakes.FakeServices())
    run_experiment(spec, tmp_path / "b", fakes.FakeServices())
    one = runner.invoke(app, ["report", str(tmp_path / "a")])
    assert one.exit_code == 0, one.output
    assert f"report: {tmp_path / 'a' / 'report.md'}" in one.output.replace("\n", "")
    two = runner.invoke(app, ["report", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                              str(tmp_path / "cmp")])  # fmt: skip
    assert two.exit_code == 0, two.output
    assert (tmp_path / "cmp" / "report.html").is_file()


def test_no_data_at_all_says_how_to_get_it(grid, tmp_path):
    for ev in grid["evaluations"]:
        Path(ev["options"]["path"]).unlink()
    grid["train_sets"][1]["training"] = {}  # the fake's negative rate is no valid DPOConfig
    spec = write_spec(tmp_path / "spec.yaml", grid)
    result = runner.invoke(app, ["run", str(spec), "--out", str(tmp_path / "o")])
    error = result.exception
    assert isinstance(error, CultureAlignError), result.output
    assert error.message.startswith("nothing to run: ") and "not found" in error.message
    assert "CULTUREALIGN_DATA" in (error.hint or "")
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_missing_test_data_becomes_not_run_cells(grid, tmp_path):
    Path(grid["evaluations"][0]["options"]["path"]).unlink()
    spec = load_spec(write_spec(tmp_path / "spec.yaml", grid))
    plan = run_experiment(spec, tmp_path / "o", fakes.FakeServices())
    column_a = [c for c in plan.cells if c.column == "A" and c.row != "MISSING-EN"]
    assert all(c.stage is None and "not found" in (c.reason or "") for c in column_a)
    assert all(c.stage for c in plan.cells if c.column == "B" and c.row != "MISSING-EN")


def test_run_and_demo_find_the_shipped_spec_outside_a_checkout(tmp_path, monkeypatch):
    import culturealign.cli.experiments as cli
    from culturealign.experiments.spec import shipped_specs

    ran: list[Path] = []
    monkeypatch.setattr(cli, "_run", lambda spec, *args, **kwargs: ran.append(spec))
    monkeypatch.chdir(tmp_path)  # no experiments/ folder here
    assert runner.invoke(app, ["demo", "--out", str(tmp_path / "d")]).exit_code == 0
    assert runner.invoke(app, ["run", "jinnai2024_table3"]).exit_code == 0
    assert ran == [shipped_specs()["demo"], shipped_specs()["jinnai2024_table3"]]


def test_run_with_an_unknown_spec_lists_the_shipped_ones(tmp_path):
    result = runner.invoke(app, ["run", "demoo", "--out", str(tmp_path / "o")])
    assert isinstance(result.exception, CultureAlignError)
    assert "experiment spec not found: demoo" in result.exception.message
    assert "demo, demo_translated, jinnai2024_table3" in (result.exception.hint or "")
