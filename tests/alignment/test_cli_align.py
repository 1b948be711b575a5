"""End to end through the CLI: prefs -> train dpo (fast) -> resume -> eval with adapter -> export;
train sft; error paths. Registered the way cli/__init__.py registers them."""

import json

import pytest
import typer
from typer.testing import CliRunner

from culturealign.cli.train import export_cmd, prefs_app, train_app
from culturealign.errors import CultureAlignError

app = typer.Typer()
app.add_typer(prefs_app, name="prefs")
app.add_typer(train_app, name="train")
app.command("export")(export_cmd)
runner = CliRunner()

TINY = ["--lora-r", "4", "--lora-alpha", "8", "--threads", "2", "--batch-size", "2"]


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=True)
    if isinstance(result.exception, CultureAlignError):
        return result, str(result.exception)
    assert result.exit_code == 0, (result.output, result.exception)
    return result, None


def test_prefs_from_labels_jcm_and_ethics(tmp_path):
    out = tmp_path / "jcm.jsonl"
    result, _ = invoke("prefs", "from-labels", "--dataset", "jcm", "--limit", 5, "--out", out)
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5 and rows[0]["source"] == "jcm/train"
    eth = tmp_path / "eth.jsonl"
    result, _ = invoke(
        "prefs", "from-labels", "--dataset", "ethics", "--split", "test_hard", "--out", eth
    )
    assert "stand in" in result.output or eth.read_text(encoding="utf-8").count("\n") == 1704


def test_bad_prefs_row_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n{"prompt": "p"}\n')
    _, error = invoke("train", "dpo", "--model", "m", "--prefs", bad, "--out", tmp_path / "o")
    assert error and "bad.jsonl:2" in error
    assert not (tmp_path / "o").exists()  # nothing written before the data is valid


@pytest.mark.integration
def test_dpo_train_resume_eval_export(tmp_path):
    from culturealign.models import load_model

    prefs = tmp_path / "p.jsonl"
    invoke("prefs", "from-labels", "--dataset", "jcm", "--limit", 6, "--out", prefs,
           "--model", "smollm2-135m-instruct")  # fmt: skip
    assert json.loads(prefs.read_text().splitlines()[0])["chat_template"] == "smollm2-135m-instruct"
    out = tmp_path / "adapter"
    common = ["--model", "smollm2-135m-instruct", "--prefs", prefs, "--out", out, *TINY]
    invoke("train", "dpo", *common, "--max-steps", 2, "--save-every", 1, "--lr", "1e-3")
    for name in ("adapter_model.safetensors", "adapter_config.json", "training_config.json",
                 "training_manifest.json", "curves.jsonl", "curves.png"):  # fmt: skip
        assert (out / name).is_file(), name
    manifest = json.loads((out / "training_manifest.json").read_text())
    assert manifest["summary"]["backend"] == "fast" and manifest["summary"]["steps"] == 2
    _, error = invoke("train", "dpo", *common, "--max-steps", 2)
    assert error and "already holds" in error
    _, error = invoke("train", "dpo", *common, "--max-steps", 2, "--resume", "--beta", "0.5")
    assert error and "beta" in error

    model = load_model("smollm2-135m-instruct", adapter=out, threads=2)
    assert model.info.adapter_sha256
    merged = tmp_path / "merged"
    invoke("export", "--model", "smollm2-135m-instruct", "--adapter", out, "--out", merged)
    from culturealign.models.base import ChoiceRequest

    req = [ChoiceRequest("Is lying wrong?", " Answer:", (" yes", " no"))]
    with_adapter = model.choice_logprobs(req)[0]
    plain = load_model(str(merged), threads=2).choice_logprobs(req)[0]
    assert with_adapter == pytest.approx(plain, abs=1e-3)


@pytest.mark.integration
def test_sft_two_steps(tmp_path):
    data = tmp_path / "sft.jsonl"
    rows = [{"prompt": f"Q{i}: is sharing food kind?", "completion": " Yes."} for i in range(4)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "sft"
    invoke("train", "sft", "--model", "smollm2-135m-instruct", "--data", data, "--out", out,
           "--max-steps", 2, *TINY)  # fmt: skip
    assert (out / "adapter_model.safetensors").is_file()
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 4
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x", "completion": "y"}\n{"text": "z"}\n')
    _, error = invoke("train", "sft", "--model", "m", "--data", bad, "--out", tmp_path / "b")
    assert error and "bad.jsonl:2" in error


@pytest.mark.integration
def test_dpo_trl_engine_two_steps(tmp_path):
    prefs = tmp_path / "prefs.jsonl"
    invoke("prefs", "from-labels", "--dataset", "jcm", "--split", "train", "--limit", 4,
           "--out", prefs)  # fmt: skip
    out = tmp_path / "dpo_trl"
    invoke("train", "dpo", "--model", "smollm2-135m-instruct", "--prefs", prefs, "--out", out,
           "--engine", "trl", "--max-steps", 2, *TINY)  # fmt: skip
    curves = [json.loads(line) for line in (out / "curves.jsonl").read_text().splitlines()]
    assert [c["step"] for c in curves] == [1, 2]
    assert json.loads((out / "training_config.json").read_text())["backend"] == "trl"
    assert (out / "adapter_model.safetensors").is_file()
