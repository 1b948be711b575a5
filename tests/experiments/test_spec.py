"""Spec validation: every mistake is one CultureAlignError naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from culturealign.errors import CultureAlignError
from culturealign.experiments.spec import load_spec
from tests.experiments.conftest import write_spec

REPO = Path(__file__).resolve().parents[2]


def _error(tmp_path: Path, spec: dict | str) -> str:
    path = tmp_path / "spec.yaml"
    if isinstance(spec, str):
        path.write_text(spec, encoding="utf-8")
    else:
        write_spec(path, spec)
    with pytest.raises(CultureAlignError) as info:
        load_spec(path)
    assert str(path) in info.value.message
    return info.value.message


def test_valid_spec_loads(grid, tmp_path):
    spec = load_spec(write_spec(tmp_path / "ok.yaml", grid))
    assert [t.name for t in spec.train_sets] == ["NATIVE", "NATIVE-JA", "MISSING-EN"]
    assert spec.training_config(spec.train_sets[1]) == {"learning_rate": -0.7, "max_steps": 3}


def _grid_specs() -> list[Path]:
    from culturealign.experiments.kinds import spec_kind

    # Other kinds (wvs-study, culturespa, ...) are validated by their own pipelines' tests.
    return [p for p in sorted((REPO / "experiments").glob("*.yaml")) if spec_kind(p) == "grid"]


@pytest.mark.parametrize("path", _grid_specs(), ids=lambda p: p.name)
def test_shipped_specs_validate(path):
    spec = load_spec(path)
    assert spec.models and spec.evaluations
    names = [t.name for t in spec.train_sets]
    assert names == ["JCM", "JCM-EN", "ETHICS-JA", "ETHICS"]


def test_unknown_field_is_named(grid, tmp_path):
    grid["train_sets"][0]["data"]["lmit"] = 5
    message = _error(tmp_path, grid)
    assert "train_sets.0.data.lmit: unknown field" in message


def test_model_id_with_dtype_option_points_to_the_dtype_field(grid, tmp_path):
    grid["models"][0]["id"] = "gemma-3-270m#dtype=bfloat16"
    message = _error(tmp_path, grid)
    assert "models.0.id" in message and "set its dtype field instead" in message


def test_wrong_type_is_named(grid, tmp_path):
    grid["seed"] = "zero"
    assert "seed:" in _error(tmp_path, grid)


def test_missing_required_field(grid, tmp_path):
    del grid["evaluations"]
    assert "evaluations: Field required" in _error(tmp_path, grid)


def test_file_dataset_needs_path(grid, tmp_path):
    del grid["train_sets"][0]["data"]["path"]
    assert "train_sets.0.data" in _error(tmp_path, grid)


def test_duplicate_row_names(grid, tmp_path):
    grid["train_sets"][1]["name"] = "NATIVE"
    assert "duplicate row" in _error(tmp_path, grid)


def test_duplicate_yaml_key(tmp_path):
    message = _error(tmp_path, "name: a\nname: b\nmodels: []\n")
    assert "duplicate key 'name'" in message


def test_unknown_task(grid, tmp_path):
    grid["evaluations"][0]["task"] = "jcmm"
    assert "evaluations.0.task: unknown task 'jcmm'" in _error(tmp_path, grid)


def test_unknown_task_option(grid, tmp_path):
    grid["evaluations"][1]["options"]["limt"] = 3
    assert "does not take limt" in _error(tmp_path, grid)


def test_shots_belong_to_rows(grid, tmp_path):
    grid["evaluations"][0]["options"]["shots"] = 3
    assert "evaluations.0.options.shots" in _error(tmp_path, grid)


def test_not_yaml_mapping(tmp_path):
    assert "mapping" in _error(tmp_path, "- a\n- b\n")


def test_missing_file(tmp_path):
    with pytest.raises(CultureAlignError, match="not found"):
        load_spec(tmp_path / "nope.yaml")


def test_relative_data_path_is_next_to_the_spec(grid, tmp_path):
    grid["train_sets"][0]["data"]["path"] = "data/train.csv"
    spec = load_spec(write_spec(tmp_path / "rel.yaml", grid))
    assert spec.train_sets[0].data.path == (tmp_path / "data" / "train.csv").resolve()


def test_docs_spec_reference_is_current():
    from culturealign.experiments.spec import reference_markdown

    doc = (REPO / "docs" / "experiments.md").read_text(encoding="utf-8")
    generated = doc.split("reference_markdown -->\n\n", 1)[1].split("<!-- /spec-reference -->")[0]
    assert generated == reference_markdown(), "regenerate the table in docs/experiments.md"
