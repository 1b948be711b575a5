"""Recipe: supervised fine-tuning with a LoRA adapter (CultureBank / CultureSPA recipes).

Reads top to bottom: config -> rows (validated) -> model -> TRL ``SFTTrainer`` with a new LoRA
adapter -> adapter, config, manifest, curves. TRL is the right tool here: SFT targets are whole
answers, so the short-completion shortcut of the DPO fast path does not apply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from culturealign.alignment import trl_trainers
from culturealign.alignment.config import SFTConfig
from culturealign.alignment.curves import CURVES_FILE, PLOT_FILE, CurveLog, plot_curves
from culturealign.alignment.distributed import process_group
from culturealign.alignment.fast_trainer import CHECKPOINTS
from culturealign.alignment.recipes.common import load_base, prepare_out, write_manifest
from culturealign.alignment.settings import TrainSettings
from culturealign.alignment.step_bar import step_bar
from culturealign.errors import CultureAlignError
from culturealign.library_warnings import quiet_library_deprecations

ROW_FORMATS = "{'prompt','completion'} strings, {'messages': [{role, content}...]} or {'text'}"


def run(
    cfg: SFTConfig,
    resume: bool = False,
    console: Console | None = None,
    report_to: Sequence[str] = (),
) -> dict[str, Any]:
    """Train and save the adapter in ``cfg.out``; ``report_to``: tracking integrations."""
    rows = read_sft_rows(cfg.data, cfg.limit)
    is_main = process_group().is_main  # `accelerate launch`: Trainer runs data-parallel
    prepare_out(cfg, resume, write=is_main)
    console = console if is_main else None
    checkpoints = cfg.out / CHECKPOINTS  # TRL's output_dir: its checkpoint-N folders live here
    last = trl_trainers.last_trl_checkpoint(checkpoints) if resume else None
    resumed_from = last.step if last else 0
    started = time.perf_counter()
    model, tokenizer, device = load_base(cfg)
    # Steps a killed run logged after its last checkpoint are redone, so their rows go.
    curves = CurveLog(cfg.out, resume_step=resumed_from) if is_main else None
    with step_bar(console, "SFT (TRL)") as hook:

        def on_log(step: int, total: int, record: dict[str, Any]) -> None:
            if curves is not None:  # rank 0 only
                curves.log(record)
                hook(step, total, record)

        trainer = trl_trainers.trl_sft_trainer(
            model,
            tokenizer,
            rows,
            checkpoints,
            TrainSettings.from_config(cfg),
            completion_only_loss=cfg.completion_only_loss,
            device=device,
            callbacks=[trl_trainers.log_callback(on_log)],
            report_to=list(report_to),
        )
        with quiet_library_deprecations():
            result = trainer.train(resume_from_checkpoint=str(last.path) if last else None)
    summary = {
        "backend": "trl",
        "device": device,
        "rows": len(rows),
        "steps": result.global_step,
        "resumed_from": resumed_from,
        "loss": result.training_loss,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    if is_main:
        trainer.model.save_pretrained(str(cfg.out))
        plot_curves(cfg.out / CURVES_FILE, cfg.out / PLOT_FILE)
        write_manifest(cfg, {"summary": summary})
    return summary


def read_sft_rows(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Validate an SFT JSONL; every row has the same one of three TRL formats."""
    if not path.is_file():
        raise CultureAlignError(f"SFT data file not found: {path}", "check --data")
    rows: list[dict[str, Any]] = []
    kind = None
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            row = _parse(path, line_no, line)
            row_kind = _kind(row)
            if row_kind is None:
                raise CultureAlignError(f"{path}:{line_no}: unrecognised row", ROW_FORMATS)
            if kind is not None and row_kind != kind:
                raise CultureAlignError(
                    f"{path}:{line_no}: a {row_kind!r} row in a {kind!r} file", "use one format"
                )
            kind = row_kind
            rows.append({k: row[k] for k in _FIELDS[row_kind]})
            if limit is not None and len(rows) >= limit:
                break
    if not rows:
        raise CultureAlignError(f"{path} has no rows", "check the file is complete")
    return rows


_FIELDS = {
    "prompt-completion": ("prompt", "completion"),
    "messages": ("messages",),
    "text": ("text",),
}


def _parse(path: Path, line_no: int, line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CultureAlignError(f"{path}:{line_no}: not valid JSON ({exc.msg})", "fix it") from exc
    if not isinstance(row, dict):
        raise CultureAlignError(f"{path}:{line_no}: expected a JSON object", ROW_FORMATS)
    return row


def _kind(row: dict[str, Any]) -> str | None:
    def text(key: str) -> bool:
        return isinstance(row.get(key), str) and bool(row[key].strip())

    if text("prompt") and text("completion"):
        return "prompt-completion"
    msgs = row.get("messages")
    if (
        isinstance(msgs, list)
        and msgs
        and all(
            isinstance(m, dict)
            and isinstance(m.get("role"), str)
            and isinstance(m.get("content"), str)
            for m in msgs
        )
    ):
        return "messages"
    return "text" if text("text") else None
