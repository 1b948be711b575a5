"""``<model>#dtype=bfloat16``: the HF backend in another precision, from any --model option."""

import json

import pytest

from culturealign.errors import CultureAlignError
from culturealign.evaluation import build_task
from culturealign.evaluation.runner import run_task
from culturealign.models import load_model
from tests.conftest import run_cli

BF16 = "gemma-3-270m#dtype=bfloat16"


@pytest.fixture(scope="module")
def gemma_bf16():
    return load_model(BF16, threads=2)


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        ("gemma-3-270m#dtype=int8", {}, "bad option 'dtype=int8'"),
        ("gemma-3-270m#parallel=4", {}, "bad option 'parallel=4'"),
        (BF16, {"dtype": "float32"}, "asks for dtype bfloat16 but the config gives float32"),
    ],
)
def test_bad_dtype_options_fail_before_loading(model, options, message):
    with pytest.raises(CultureAlignError, match=message):
        load_model(model, **options)


def test_training_refuses_a_dtype_option():
    from culturealign.alignment.recipes.common import model_source

    with pytest.raises(CultureAlignError, match="training takes a plain model"):
        model_source(BF16)


def test_a_folder_named_with_a_hash_is_a_folder(tmp_path):
    from culturealign.alignment.recipes.common import model_source

    folder = tmp_path / "ckpt#3"
    folder.mkdir()
    with pytest.raises(CultureAlignError, match="no config.json"):  # not "bad option '3'"
        load_model(str(folder))
    assert model_source(str(folder)) == str(folder)


@pytest.mark.integration
def test_bfloat16_scores_near_float32_and_cannot_resume_its_run(gemma, gemma_bf16, tmp_path):
    import torch

    assert gemma_bf16.info.dtype == "bfloat16" and gemma_bf16.info.name == BF16
    assert next(gemma_bf16.model.parameters()).dtype == torch.bfloat16
    task = build_task("jcm", {"limit": 40, "shots": 3})
    runs = {}
    for lm in (gemma, gemma_bf16):
        run_task(task, lm, tmp_path / lm.info.dtype)
        lines = (tmp_path / lm.info.dtype / "items.jsonl").read_text().splitlines()
        runs[lm.info.dtype] = [json.loads(line) for line in lines]
    pairs = list(zip(runs["float32"], runs["bfloat16"], strict=True))
    # bf16 keeps 8 significant bits: gemma-3-270m's 正/誤 margins are often within its rounding
    # (179/200 equal predictions in docs/results/backend_throughput.md, run 5).
    assert sum(a["prediction"] == b["prediction"] for a, b in pairs) >= 32
    assert any(a["logprobs"] != b["logprobs"] for a, b in pairs)  # really another precision
    # A config's dtype field leaves the name as it is: the dtype alone must refuse the resume.
    gemma_bf16.info.name = gemma.info.name
    try:
        with pytest.raises(CultureAlignError, match="different run"):
            run_task(task, gemma_bf16, tmp_path / "float32")
    finally:
        gemma_bf16.info.name = BF16


@pytest.mark.integration
def test_eval_cli_records_the_dtype(tmp_path):
    out = tmp_path / "run"
    r = run_cli("eval", "--model", BF16, "--task", "jcm", "--limit", "4", "--out", str(out))
    assert r.returncode == 0, r.stderr
    model = json.loads((out / "summary.json").read_text())["model"]
    assert (model["name"], model["dtype"]) == (BF16, "bfloat16")
