"""DPO ``backend`` -> ``engine`` (issue 15.4): the old name still works, says it is deprecated,
and what is stored (training_config.json, the experiment stage keys) keeps the old key."""

import json
import warnings
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from culturealign.alignment.config import DPOConfig, resolve_config
from culturealign.cli.train import train_app
from culturealign.errors import CultureAlignError

BASE = {"model": "m", "prefs": Path("p.jsonl"), "out": Path("o")}


def test_engine_is_stored_under_its_old_key_in_place():
    cfg = DPOConfig(**BASE, engine="trl")
    dumped = cfg.model_dump(mode="json")
    assert "engine" not in dumped and dumped["backend"] == "trl"
    keys = list(dumped)  # same position as before the rename: the stored JSON is byte-identical
    assert keys.index("backend") == keys.index("beta") + 1
    assert json.loads(cfg.model_dump_json())["backend"] == "trl"


def test_old_config_key_is_accepted_with_a_deprecation_warning(tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text("backend: trl\n")
    with pytest.warns(FutureWarning, match="'backend' is now called 'engine'"):
        cfg = resolve_config(DPOConfig, file, {k: str(v) for k, v in BASE.items()})
    assert cfg.engine == "trl"
    with pytest.warns(FutureWarning, match="now called 'engine'"):
        assert DPOConfig.model_validate({**BASE, "backend": "fast"}).engine == "fast"


def test_old_key_in_a_file_is_overridden_by_a_later_layer(tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text("backend: trl\n")
    with pytest.warns(FutureWarning):
        cfg = resolve_config(DPOConfig, file, {**BASE, "engine": "fast"})
    assert cfg.engine == "fast"
    with pytest.warns(FutureWarning):
        cfg = resolve_config(DPOConfig, None, BASE, {"backend": "trl"})
    assert cfg.engine == "trl"


def test_new_key_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_config(DPOConfig, None, {**BASE, "engine": "trl"}).engine == "trl"


def test_both_names_disagreeing_is_an_error():
    with pytest.raises(ValueError, match="old name of 'engine'"):
        DPOConfig.model_validate({**BASE, "backend": "fast", "engine": "trl"})


def _invoke(*args):
    app = typer.Typer()
    app.add_typer(train_app, name="train")
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=True)


def test_cli_backend_option_is_deprecated_and_passed_on(tmp_path):
    """--backend reaches the recipe as the engine; a missing prefs file stops it before work."""
    args = ["train", "dpo", "--model", "m", "--prefs", tmp_path / "none.jsonl"]
    result = _invoke(*args, "--out", tmp_path / "o", "--backend", "trl")
    assert "--backend is now --engine" in result.output
    assert isinstance(result.exception, CultureAlignError)  # the prefs file, not the option
    result = _invoke(*args, "--out", tmp_path / "o", "--backend", "trl", "--engine", "fast")
    assert "contradicts --engine" in str(result.exception)
    result = _invoke(*args, "--out", tmp_path / "o", "--engine", "trl")
    assert "deprecated" not in result.output


def test_help_shows_engine_not_backend():
    result = _invoke("train", "dpo", "--help")
    assert "--engine" in result.output and "--backend" not in result.output
