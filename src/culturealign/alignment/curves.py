"""Training curves: one JSONL row per logged step (appended, so a resumed run continues it) and
a PNG of loss and reward accuracy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CURVES_FILE = "curves.jsonl"
PLOT_FILE = "curves.png"


class CurveLog:
    """Appends step records to ``folder/curves.jsonl``; rows past ``resume_step`` are dropped."""

    def __init__(self, folder: Path, resume_step: int = 0) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / CURVES_FILE
        kept = [r for r in read_curves(self.path) if r.get("step", 0) <= resume_step]
        # A killed run may have logged steps after its last checkpoint; they are redone.
        with self.path.open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in kept)

    def log(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def read_curves(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a kill mid-write leaves at most one torn last line
    return rows


def plot_curves(path: Path, out: Path, smooth: int = 20) -> Path | None:
    """Loss and reward accuracy (or loss only, for SFT) against step, raw and smoothed."""
    rows = read_curves(path)
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in ("loss", "reward_accuracy", "margin") if any(k in r for r in rows)]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        pts = [(r["step"], r[key]) for r in rows if key in r]
        steps, values = zip(*pts, strict=True)
        ax.plot(steps, values, alpha=0.3, lw=0.8, label="per step")
        ax.plot(steps, _running_mean(list(values), smooth), lw=1.6, label=f"mean of {smooth}")
        ax.set_xlabel("optimizer step")
        ax.set_title(key.replace("_", " "))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _running_mean(values: list[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out
