"""Experiment tracking (wandb, mlflow, tensorboard) through transformers' own integrations.

The TRL engine gets ``report_to`` in its training arguments, so transformers' callbacks log for
it. The fast engine has no Trainer; :class:`Tracker` drives the *same* callback classes
(``transformers.integrations``: TensorBoardCallback, MLflowCallback, WandbCallback) with a
TrainerState of its own, so both engines log the same metric names to the same places, and no
tracking client code is ours. ``log_files`` attaches finished results (summary tables, the
report) to the tracker's run.

Where logs go is each integration's usual setting: ``TENSORBOARD_LOGGING_DIR`` (default
``<out>/runs``), ``MLFLOW_TRACKING_URI`` / ``MLFLOW_EXPERIMENT_NAME``, ``WANDB_PROJECT`` /
``WANDB_MODE=offline``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError

CHOICES = ("none", "tensorboard", "mlflow", "wandb")
# A training loop's per-step callback: (step, total steps, the step's record).
StepHook = Callable[[int, int, dict[str, Any]], None]


def parse_report_to(value: str | Sequence[str] | None) -> list[str]:
    """``"tensorboard,mlflow"`` -> ``["tensorboard", "mlflow"]``; ``none`` -> ``[]``."""
    if value is None:
        return []
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [n.strip().lower() for n in names if n.strip()]
    unknown = [n for n in names if n not in CHOICES]
    if unknown:
        raise CultureAlignError(
            f"unknown --report-to {', '.join(unknown)}", f"choose from: {', '.join(CHOICES)}"
        )
    return [n for n in names if n != "none"]


class Tracker:
    """transformers' reporting callbacks, fed by a training loop that is not a Trainer."""

    def __init__(
        self, report_to: Sequence[str], out_dir: Path, run_name: str, params: dict[str, Any]
    ) -> None:
        from transformers import TrainerControl, TrainerState, TrainingArguments
        from transformers.integrations import get_reporting_integration_callbacks

        self.report_to = list(report_to)
        try:
            classes = get_reporting_integration_callbacks(self.report_to)
        except (ValueError, RuntimeError) as exc:
            raise CultureAlignError(str(exc), "pip install the tracking library first") from exc
        self.args = TrainingArguments(
            output_dir=str(out_dir), report_to=self.report_to, run_name=run_name
        )
        self.params = params
        self.state = TrainerState(is_world_process_zero=True, is_local_process_zero=True)
        self.control = TrainerControl()
        self.callbacks = [cls() for cls in classes]

    def begin(self, model: Any = None, max_steps: int = 0) -> None:
        self.state.max_steps = max_steps
        for cb in self.callbacks:
            cb.on_train_begin(self.args, self.state, self.control, model=model)
        self._log_params()

    def log(self, step: int, metrics: dict[str, float]) -> None:
        """One point per metric at ``step`` (loss, reward accuracy, margins, lr, pairs/s...)."""
        self.state.global_step = step
        numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        for cb in self.callbacks:
            cb.on_log(self.args, self.state, self.control, logs=numbers)

    def end(self) -> None:
        for cb in self.callbacks:
            cb.on_train_end(self.args, self.state, self.control)
        if "wandb" in self.report_to:
            import wandb

            wandb.finish()  # the callback leaves the run open for a Trainer's process to close

    def _log_params(self) -> None:
        """The training config as run parameters (the callbacks log TrainingArguments only)."""
        flat = {k: str(v) for k, v in self.params.items()}
        if "mlflow" in self.report_to:
            import mlflow

            if mlflow.active_run() is not None:
                mlflow.log_params({f"culturealign.{k}": v[:500] for k, v in flat.items()})
        if "wandb" in self.report_to:
            import wandb

            if wandb.run is not None:
                wandb.config.update({"culturealign": flat}, allow_val_change=True)


@contextmanager
def step_tracking(
    report_to: Sequence[str],
    out_dir: Path,
    run_name: str,
    params: dict[str, Any],
    pairs_per_step: int,
) -> Iterator[StepHook | None]:
    """A step hook that logs every optimizer step's record to the trackers (None when none).

    Logged: every number in the record but ``step`` (loss, reward accuracy, margin, grad norm,
    lr, epoch, elapsed_s), plus ``pairs_per_s`` over the steps this process ran (a resumed run
    counts from where it resumed).
    """
    if not report_to:
        yield None
        return
    tracker = Tracker(report_to, out_dir, run_name, params)
    first: list[int] = []

    def hook(step: int, total: int, record: dict[str, Any]) -> None:
        if not first:
            tracker.begin(max_steps=total)
            first.append(step)
        metrics = {k: v for k, v in record.items() if k != "step"}
        elapsed = record.get("elapsed_s")
        if isinstance(elapsed, int | float) and elapsed > 0:
            metrics["pairs_per_s"] = (step - first[0] + 1) * pairs_per_step / elapsed
        tracker.log(step, metrics)

    try:
        yield hook
    finally:
        if first:
            tracker.end()


def chain(*hooks: StepHook | None) -> StepHook:
    """One hook calling each given hook in turn (None entries skipped)."""
    live = [h for h in hooks if h is not None]

    def hook(step: int, total: int, record: dict[str, Any]) -> None:
        for h in live:
            h(step, total, record)

    return hook


def log_files(report_to: Sequence[str], files: Sequence[Path], run_name: str, out: Path) -> None:
    """Attach result files (summary tables, report.md/html, summary.json) to a tracker run."""
    for name in report_to:
        existing = [f for f in files if f.is_file()]
        if name == "mlflow":
            import mlflow

            if experiment := os.environ.get("MLFLOW_EXPERIMENT_NAME"):
                mlflow.set_experiment(experiment)  # as transformers' MLflowCallback reads it
            with mlflow.start_run(run_name=run_name):
                for f in existing:
                    mlflow.log_artifact(str(f))
        elif name == "wandb":
            import wandb

            with wandb.init(name=run_name, job_type="evaluation", dir=str(out)) as run:
                artifact = wandb.Artifact(f"{run_name}-results".replace("/", "-"), type="results")
                for f in existing:
                    artifact.add_file(str(f))
                run.log_artifact(artifact)
        elif name == "tensorboard":
            from torch.utils.tensorboard import SummaryWriter

            with SummaryWriter(log_dir=str(out / "runs" / run_name)) as writer:
                for f in existing:
                    if f.suffix in (".md", ".txt", ".json", ".csv"):
                        writer.add_text(f.name, f.read_text(encoding="utf-8")[:100_000])
