"""`culturealign eval --protocol jinnai2024` through the real entry point (subprocess)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.needs_data


def _clean_error(result, *phrases: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for phrase in phrases:
        assert phrase in result.stderr


@pytest.mark.integration
def test_protocol_runs_and_is_recorded(tmp_path):
    out = tmp_path / "o"
    r = run_cli(
        "eval", "--model", "smollm2-135m-instruct", "--task", "jcm", "--protocol", "jinnai2024",
        "--limit", "2", "--max-new-tokens", "8", "--threads", "2", "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["task"]["args"]["protocol"] == "jinnai2024"
    assert summary["task"]["version"] == 2 and summary["mode"] == "generate"
    gen = summary["generation"]
    assert (gen["temperature"], gen["top_p"], gen["max_new_tokens"]) == (1.0, 0.7, 8)
    assert summary["generation_departs_from_task"] == {"max_new_tokens": {"task": 256, "used": 8}}
    assert "max_new_tokens=8 departs from the task's 256" in r.stderr
    assert "jcm (3-shot, jinnai2024)" in r.stdout


def test_protocol_with_choice_mode_is_one_clear_error(tmp_path):
    r = run_cli(
        "eval", "--model", "smollm2-135m-instruct", "--task", "jcm", "--protocol", "jinnai2024",
        "--mode", "choice", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    _clean_error(r, "protocol 'jinnai2024' is mode 'generate', not 'choice'")
    assert not (tmp_path / "o").exists()


def test_unknown_protocol_names_the_known_ones(tmp_path):
    r = run_cli(
        "eval", "--model", "smollm2-135m-instruct", "--task", "ethics", "--protocol", "jinai",
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    _clean_error(r, "unknown protocol 'jinai'", "jinnai2024")
    assert not (tmp_path / "o").exists()


def test_protocol_on_a_task_without_protocols(tmp_path):
    r = run_cli(
        "eval", "--model", "smollm2-135m-instruct", "--task", "wvs-culturespa",
        "--protocol", "jinnai2024", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    _clean_error(r, "does not take protocol")
    assert not (tmp_path / "o").exists()
