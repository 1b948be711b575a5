"""The executor with the fake services: stage layout, cache hits, invalidation, not-run rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from culturealign.experiments.executor import run_experiment
from culturealign.experiments.spec import load_spec
from tests.experiments import fakes
from tests.experiments.conftest import write_spec


def _run(tmp_path: Path, spec: dict, out: Path):
    fakes.CALLS.clear()
    plan = run_experiment(
        load_spec(write_spec(tmp_path / "spec.yaml", spec)), out, fakes.FakeServices()
    )
    return plan, list(fakes.CALLS)


def _stage_dirs(out: Path, kind: str) -> set[str]:
    return {p.name for p in (out / "stages" / kind).iterdir()}


def test_full_run_layout(grid, tmp_path):
    out = tmp_path / "run"
    plan, calls = _run(tmp_path, grid, out)
    # NATIVE and NATIVE-JA read the same file with the same pair settings: one pairs stage.
    assert calls == ["pairs", "train", "train"]
    # 1 baseline + 2 trained rows, 2 test sets each
    assert len(_stage_dirs(out, "eval")) == 6
    assert not list((out / "stages").glob("*/*.partial"))
    record = json.loads((out / "plan.json").read_text())
    assert [r["label"] for r in record["rows"]] == [
        "no fine-tuning (3-shot)",
        "NATIVE",
        "NATIVE-JA",
        "MISSING-EN",
    ]
    missing = [c for c in record["cells"] if c["row"] == "MISSING-EN"]
    assert len(missing) == 2 and all(c["stage"] is None for c in missing)
    assert "set data.translated.translator" in missing[0]["reason"]
    for cell in record["cells"]:
        if cell["stage"]:
            summary = out / "stages" / "eval" / cell["stage"] / "summary.json"
            assert json.loads(summary.read_text())["n_items"] > 0


def test_rerun_is_all_cache_hits(grid, tmp_path):
    out = tmp_path / "run"
    _run(tmp_path, grid, out)
    before = {p: p.stat().st_mtime_ns for p in (out / "stages").rglob("summary.json")}
    _, calls = _run(tmp_path, grid, out)
    assert calls == []
    after = {p: p.stat().st_mtime_ns for p in (out / "stages").rglob("summary.json")}
    assert before == after
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert all(r["cached"] for r in log[-8:]) and not all(r["cached"] for r in log)


def test_training_change_reruns_only_that_row(grid, tmp_path):
    out = tmp_path / "run"
    _run(tmp_path, grid, out)
    evals, trains = _stage_dirs(out, "eval"), _stage_dirs(out, "train")
    grid["train_sets"][0]["training"] = {"learning_rate": 0.25}
    _, calls = _run(tmp_path, grid, out)
    assert calls == ["train"]  # pairs unchanged: cached
    assert len(_stage_dirs(out, "train") - trains) == 1
    assert len(_stage_dirs(out, "eval") - evals) == 2  # that row's two test sets


def test_evaluation_change_reruns_only_that_column(grid, tmp_path):
    out = tmp_path / "run"
    _run(tmp_path, grid, out)
    evals = _stage_dirs(out, "eval")
    grid["evaluations"][1]["options"]["limit"] = 20
    _, calls = _run(tmp_path, grid, out)
    assert calls == []
    assert len(_stage_dirs(out, "eval") - evals) == 3  # column B of the three rows


def test_data_change_invalidates(grid, tmp_path):
    out = tmp_path / "run"
    _run(tmp_path, grid, out)
    train_file = Path(grid["train_sets"][0]["data"]["path"])
    train_file.write_text(train_file.read_text() + "one more sentence that is kind,0\n")
    _, calls = _run(tmp_path, grid, out)
    assert calls == ["pairs", "train", "train"]  # both sets read that file


def test_partial_stage_is_resumed_not_restarted(grid, tmp_path):
    out = tmp_path / "run"
    plan, _ = _run(tmp_path, grid, out)
    train = next(s for s in plan.stages.values() if s.kind == "train")
    final = out / "stages" / "train" / train.key
    partial = final.with_name(final.name + ".partial")
    # Simulate a kill after checkpoint 2 of 3: the partial folder holds the checkpoints.
    final.rename(partial)
    (partial / "stage.json").unlink()
    (partial / "adapter" / "ckpt-0003.json").unlink()
    (partial / "adapter" / "weights.json").unlink()
    first_checkpoint = (partial / "adapter" / "ckpt-0001.json").stat().st_mtime_ns
    _, calls = _run(tmp_path, grid, out)
    assert calls == ["train"]
    # Resumed from the checkpoints, not retrained: the early checkpoint was not rewritten.
    assert (final / "adapter" / "ckpt-0001.json").stat().st_mtime_ns == first_checkpoint
    assert (final / "adapter" / "ckpt-0003.json").is_file()
    assert (final / "adapter" / "weights.json").is_file() and not partial.exists()


def test_translated_set_with_a_file_runs(grid, tmp_path):
    grid["train_sets"][2]["data"]["path"] = grid["train_sets"][0]["data"]["path"]
    plan, _ = _run(tmp_path, grid, tmp_path / "run")
    assert all(c.stage for c in plan.cells)


def test_second_runner_on_same_folder_is_refused(grid, tmp_path):
    from culturealign.errors import CultureAlignError
    from culturealign.experiments.cache import run_lock

    out = tmp_path / "run"
    with run_lock(out), pytest.raises(CultureAlignError, match="another"):
        _run(tmp_path, grid, out)


def test_bad_training_config_fails_at_planning(grid, tmp_path):
    from culturealign.errors import CultureAlignError
    from culturealign.experiments.plan import build_plan
    from culturealign.experiments.services import LibraryServices

    grid["training"] = {"learning_rat": 1e-4}
    spec = load_spec(write_spec(tmp_path / "spec.yaml", grid))
    with pytest.raises(CultureAlignError, match="training config of 'NATIVE'.*learning_rat"):
        build_plan(spec, LibraryServices())


def test_library_training_identity_fills_defaults_and_drops_runtime_fields():
    from culturealign.experiments.services import LibraryServices
    from culturealign.experiments.spec import ModelSpec

    ident = LibraryServices().training_identity(ModelSpec(id="m"), {"learning_rate": 3e-4})
    assert ident["learning_rate"] == 3e-4 and ident["beta"] == 0.1 and ident["lora"]["r"] == 64
    assert not {"threads", "out", "prefs", "save_every"} & set(ident)


def test_stages_run_dependencies_first_and_base_model_work_together(grid, tmp_path):
    plan, _ = _run(tmp_path, grid, tmp_path / "run")
    order = list(plan.stages.values())
    assert [s.kind for s in order] == [
        "eval", "eval", "pairs", "train", "eval", "eval", "train", "eval", "eval"
    ]  # fmt: skip
    seen: set[str] = set()
    for stage in order:
        assert set(stage.deps) <= seen, f"{stage.label} runs before its inputs"
        seen.add(stage.key)


def test_old_backend_names_still_import_with_a_deprecation_warning():
    import culturealign.experiments as experiments

    with pytest.warns(DeprecationWarning, match="now LibraryServices"):
        assert experiments.LibraryBackend is experiments.LibraryServices
    with pytest.raises(AttributeError):
        experiments.NoSuchThing  # noqa: B018
