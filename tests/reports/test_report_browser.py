"""The HTML report of a small finished run, opened in a real headless Chromium.

The run uses the experiment tests' fake services (no model): what is checked here is the page,
not the numbers. CI installs Debian's chromium (.ci/run); without it these tests skip.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

pytest.importorskip("playwright", reason="pip install 'culturealign[browser]'")
if not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")):
    pytest.skip("no Chromium (apt-get install chromium)", allow_module_level=True)

from culturealign.experiments.executor import run_experiment  # noqa: E402
from culturealign.experiments.spec import load_spec  # noqa: E402
from culturealign.reports.browser import check_page  # noqa: E402
from culturealign.reports.experiment import write_experiment_report  # noqa: E402
from tests.experiments import fakes  # noqa: E402


def _judgements(path: Path, n: int) -> str:
    rows = ["text,label"] + [f"sentence {i} about case {i % 5},{(i * 7) % 2}" for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    spec = {
        "name": "browser",
        "models": [{"id": "fake-model"}],
        "training": {"learning_rate": 0.5, "max_steps": 2},
        "train_sets": [
            {"name": "TRAIN", "data": {"dataset": "file", "path": _judgements(root / "t.csv", 12)}}
        ],
        "evaluations": [
            {
                "name": "A",
                "task": "judgement",
                "options": {"path": _judgements(root / "a.csv", 30)},
            },
            {
                "name": "B",
                "task": "judgement",
                "options": {"path": _judgements(root / "b.csv", 20)},
            },
        ],
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    run_experiment(load_spec(root / "spec.yaml"), root / "run", fakes.FakeServices())
    return write_experiment_report([root / "run"]).html


def _is_blank(png: Path) -> bool:
    import matplotlib.image as mpimg

    pixels = mpimg.imread(png)
    return float(pixels[..., :3].std()) < 0.01


def test_report_is_self_contained_and_shows_tables_and_heatmap(report, tmp_path):
    shot = tmp_path / "desktop.png"
    seen = check_page(report, screenshot=shot, width=1280)
    assert seen.requests == [], f"the report fetched {seen.requests}: it must be self-contained"
    assert seen.title.startswith("Experiment browser")
    assert seen.tables >= 4 and seen.visible_tables == seen.tables
    assert seen.images >= 1 and seen.decoded_images == seen.images, "heatmap not shown"
    assert seen.scroll_width <= seen.viewport_width
    assert shot.stat().st_size > 10_000 and not _is_blank(shot)


def test_report_reads_on_a_phone(report, tmp_path):
    seen = check_page(report, screenshot=tmp_path / "phone.png", width=390)
    # Wide tables scroll inside their own box; the page itself never scrolls sideways.
    assert seen.scroll_width <= seen.viewport_width, (seen.scroll_width, seen.viewport_width)
    assert seen.visible_tables == seen.tables and seen.decoded_images == seen.images


def test_a_page_that_fetches_something_is_caught(tmp_path):
    """The network check can fail: a page with an external image is reported."""
    page = tmp_path / "leaky.html"
    page.write_text("<html><body><img src='http://127.0.0.1:9/x.png'><table></table></body></html>")
    assert check_page(page).requests == ["http://127.0.0.1:9/x.png"]
