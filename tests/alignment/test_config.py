from pathlib import Path

import pytest

from culturealign.alignment.config import DPOConfig, SFTConfig, describe, resolve_config
from culturealign.errors import CultureAlignError

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


def test_dpo_defaults_are_the_study_values():
    cfg = DPOConfig(model="m", prefs=Path("p.jsonl"), out=Path("o"))
    assert (cfg.epochs, cfg.learning_rate, cfg.batch_size, cfg.beta) == (3, 1e-5, 4, 0.1)
    assert (cfg.lora.r, cfg.lora.alpha, cfg.lora.target_modules) == (64, 16, "all-linear")


def test_sft_defaults_are_culturebank_culturespa_values():
    cfg = SFTConfig(model="m", data=Path("d.jsonl"), out=Path("o"))
    assert (cfg.epochs, cfg.learning_rate, cfg.scheduler) == (1, 1e-4, "cosine")
    assert (cfg.lora.r, cfg.lora.alpha) == (8, 16)


def test_resolution_order_file_then_options_then_sets(tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text("model: a\nprefs: p.jsonl\nout: o\nbeta: 0.3\nlora: {r: 32}\n")
    cfg = resolve_config(DPOConfig, file, {"beta": 0.2, "lora.alpha": 8}, {"lora.r": "4"})
    assert (cfg.beta, cfg.lora.r, cfg.lora.alpha) == (0.2, 4, 8)
    assert resolve_config(DPOConfig, file).beta == 0.3


@pytest.mark.parametrize(
    "sets, message",
    [({"bogus": "1"}, "bogus"), ({"lora.rank": "4"}, "lora.rank"), ({"beta": "-1"}, "beta")],
)
def test_unknown_or_invalid_fields_are_rejected(sets, message):
    base = {"model": "a", "prefs": "p", "out": "o"}
    with pytest.raises(CultureAlignError, match=message):
        resolve_config(DPOConfig, None, base, sets)


def test_help_comes_from_field_descriptions():
    assert describe(DPOConfig, "beta").startswith("DPO beta")
    assert describe(DPOConfig, "beta").endswith("[0.1]")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_validates(path):
    cls = SFTConfig if "data:" in path.read_text() else DPOConfig
    resolve_config(cls, path)
