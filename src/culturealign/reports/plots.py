"""The train set x test set accuracy heatmap (one panel per model), as PNG bytes."""

from __future__ import annotations

import io

import numpy as np

from culturealign.reports.collect import RunResults


def accuracy_matrix(run: RunResults, model: str) -> np.ndarray:
    """Accuracy in percent, rows x columns; NaN where a cell has no result."""
    out = np.full((len(run.row_labels), len(run.columns)), np.nan)
    for i, row in enumerate(run.row_labels):
        for j, col in enumerate(run.columns):
            metric = run.cell(model, row, col).metric("accuracy")
            if metric is not None:
                out[i, j] = 100 * metric["value"]
    return out


def heatmap_png(run: RunResults) -> bytes:
    """One heatmap per model; 'not run' cells are grey. Same results give the same bytes."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed; also makes the output independent of the host
    import matplotlib.pyplot as plt

    n = len(run.models)
    width = 1.6 + 1.5 * len(run.columns)
    fig, axes = plt.subplots(
        1, n, figsize=(width * n, 0.9 + 0.55 * len(run.row_labels)), squeeze=False
    )
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d0d0d0")
    for ax, model in zip(axes[0], run.models, strict=True):
        values = accuracy_matrix(run, model)
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=100, aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            text = "not run" if np.isnan(v) else f"{v:.1f}"
            color = "black" if np.isnan(v) or v > 60 else "white"
            ax.text(j, i, text, ha="center", va="center", color=color, fontsize=9)
        ax.set_xticks(range(len(run.columns)), run.columns)
        ax.set_yticks(range(len(run.row_labels)), run.row_labels if ax is axes[0][0] else [])
        ax.set_xlabel("test set")
        ax.set_title(model, fontsize=10)
        fig.colorbar(image, ax=ax, label="accuracy (%)", shrink=0.8)
    axes[0][0].set_ylabel("training set")
    fig.tight_layout()
    buf = io.BytesIO()
    # No timestamp or version metadata, so an identical run writes an identical file.
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
