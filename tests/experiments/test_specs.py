"""The shipped specs: the paper's models and sizes, one copy, and inside the built wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from culturealign.experiments.spec import find_spec, load_spec, shipped_specs

REPO = Path(__file__).resolve().parents[2]

# Jinnai (2024), Table 3: the three models the paper names.
PAPER_MODELS = [
    "cyberagent/calm2-7b-chat",
    "llm-jp/llm-jp-13b-instruct-full-dolly_en-dolly_ja-ichikara_003_001-oasst_en-oasst_ja-v1.1",
    "tokyotech-llm/Swallow-7b-instruct-v0.1",
]


def test_table3_spec_uses_the_papers_models():
    spec = load_spec(shipped_specs()["jinnai2024_table3"])
    assert [m.id for m in spec.models] == PAPER_MODELS


def test_table3_spec_trains_on_the_first_14000_entries_of_every_set():
    spec = load_spec(shipped_specs()["jinnai2024_table3"])
    assert {t.name: t.data.limit for t in spec.train_sets} == dict.fromkeys(
        ["JCM", "JCM-EN", "ETHICS-JA", "ETHICS"], 14000
    )
    assert {t.data.split for t in spec.train_sets} == {"train"}


def test_table3_spec_evaluates_with_the_study_protocol():
    spec = load_spec(shipped_specs()["jinnai2024_table3"])
    assert [e.options.get("protocol") for e in spec.evaluations] == ["jinnai2024"] * 2


@pytest.mark.parametrize("name", ["demo", "jinnai2024_table3"])
def test_shipped_specs_have_a_base_row_with_the_aligned_shot_count(name):
    spec = load_spec(shipped_specs()[name])
    shots = {b.label: b.shots for b in spec.baselines}
    assert shots == {"no fine-tuning (3-shot)": 3, "no fine-tuning (0-shot)": 0}
    assert spec.reference_baseline().shots == spec.aligned_shots == 0


def test_checkout_experiments_folder_is_the_shipped_folder():
    # One copy: experiments/ in a checkout links to the package data, so the two cannot drift.
    assert (REPO / "experiments").resolve() == shipped_specs()["demo"].parent.resolve()
    assert find_spec(Path("demo")) == shipped_specs()["demo"]
    assert find_spec(REPO / "experiments" / "demo.yaml").samefile(shipped_specs()["demo"])


def test_built_wheel_contains_the_specs(tmp_path):
    # Build from a copy: an in-tree build would write build/ and egg-info into the checkout.
    source = tmp_path / "src-copy"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         str(source), "-w", str(tmp_path / "wheel")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "wheel").glob("culturealign-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for spec in shipped_specs():
        assert f"culturealign/experiments/specs/{spec}.yaml" in names
    metadata = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        .decode()
    )
    assert 'extra == "vllm"' not in metadata and "Provides-Extra: vllm" not in metadata
    assert "scikit-learn" in metadata
