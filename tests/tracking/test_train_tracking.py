"""``train dpo|sft --report-to`` and ``eval --report-to`` through the real CLI (issue 13.1).

Each run is real (smollm2-135m-instruct, a few steps); what the trackers hold is read back with
TensorBoard's and MLflow's own readers and compared with the run's own curves file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from culturealign.alignment.curves import CURVES_FILE, read_curves
from culturealign.cli import app
from culturealign.errors import CultureAlignError

TINY = [
    "--model", "smollm2-135m-instruct", "--lora-r", "4", "--lora-alpha", "8", "--threads", "2",
    "--batch-size", "2", "--max-steps", "2", "--lr", "1e-3", "--seed", "3",
]  # fmt: skip


def _prefs(tmp_path: Path) -> Path:
    prefs = tmp_path / "prefs.jsonl"
    rows = [
        {"prompt": f"Q{i}: Is it wrong to {act}? Answer:", "chosen": " Yes", "rejected": " No"}
        for i, act in enumerate(["steal a bike", "lie to a friend", "cheat at cards", "litter"])
    ]
    prefs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return prefs


def _invoke(*args: str) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _scalars(out: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series TensorBoard reads from the run's event files."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (logdir,) = (out / "checkpoints" / "runs").iterdir()  # transformers' default layout
    events = EventAccumulator(str(logdir))
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


@pytest.mark.parametrize("engine", ["fast", "trl"])
def test_train_dpo_steps_reach_tensorboard(tmp_path, engine, monkeypatch):
    pytest.importorskip("tensorboard")
    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    out = tmp_path / engine
    prefs = _prefs(tmp_path)
    _invoke("train", "dpo", "--prefs", prefs, "--engine", engine, "--out", out, *TINY,
            "--report-to", "tensorboard")  # fmt: skip
    scalars = _scalars(out)
    curves = read_curves(out / CURVES_FILE)
    assert [step for step, _ in scalars["train/loss"]] == [1, 2]
    logged = [round(value, 4) for _, value in scalars["train/loss"]]
    assert logged == [round(row["loss"], 4) for row in curves]  # the same numbers as curves
    if engine == "fast":  # ours: the fast loop's record through transformers' callback
        assert {"train/reward_accuracy", "train/margin", "train/lr", "train/pairs_per_s"} <= set(
            scalars
        )
        assert all(value > 0 for _, value in scalars["train/pairs_per_s"])
    else:  # TRL's own metric names, logged by its Trainer
        assert "train/rewards/accuracies" in scalars and "train/learning_rate" in scalars


def test_train_sft_to_mlflow_and_no_tracking_by_default(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "sft-test")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    data = tmp_path / "sft.jsonl"
    rows = [{"prompt": f"Q{i}: greet?", "completion": f" Bow {i}."} for i in range(4)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _invoke("train", "sft", "--data", data, "--out", tmp_path / "sft", *TINY,
            "--report-to", "mlflow")  # fmt: skip
    client = mlflow.tracking.MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("sft-test").experiment_id])
    losses = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss"))
    assert [step for step, _ in losses] == [1, 2]

    _invoke("train", "sft", "--data", data, "--out", tmp_path / "plain", *TINY)
    assert not (tmp_path / "plain" / "checkpoints" / "runs").exists()


@pytest.mark.needs_data
def test_eval_logs_its_result_files(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "eval-test")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    out = tmp_path / "ev"
    _invoke("eval", "--model", "smollm2-135m-instruct", "--task", "ethics", "--limit", "4",
            "--threads", "2", "--out", out, "--report-to", "mlflow")  # fmt: skip
    client = mlflow.tracking.MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("eval-test").experiment_id])
    assert run.info.run_name == "eval-ev"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {
        "summary.json",
        "results.md",
    }


def test_a_bad_tracker_name_fails_before_any_work(tmp_path):
    out = tmp_path / "never"
    for args in (
        ["eval", "--model", "smollm2-135m-instruct", "--task", "jcm", "--out", str(out)],
        ["train", "dpo", "--prefs", str(_prefs(tmp_path)), "--out", str(out), *TINY],
    ):
        result = CliRunner().invoke(app, [*args, "--report-to", "tensorbord"])
        assert isinstance(result.exception, CultureAlignError), result.output
        assert "unknown --report-to tensorbord" in str(result.exception)
        assert not out.exists()
