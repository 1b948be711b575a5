"""Judgement datasets: JCM, ETHICS commonsense, and any CSV/JSONL file with text and labels."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from culturealign.data.records import Judgement, JudgementSet, Language, mark_minimal_pairs
from culturealign.data.sources import RemoteFile, locate, sha256_of
from culturealign.errors import CultureAlignError

_JCM_URL = "https://raw.githubusercontent.com/Language-Media-Lab/commonsense-moral-ja/main/data/"
_ETHICS_GH = (
    "https://raw.githubusercontent.com/oughtinc/ice/5449543c71c039753603ab57344147a1156bfb46/"
    "ethics/commonsense/"
)
_ETHICS_TAR = "https://people.eecs.berkeley.edu/~hendrycks/ethics.tar"

JCM_FILES = {
    split: RemoteFile(f"jcm/data_{split}.csv", f"{_JCM_URL}data_{split}.csv")
    for split in ("train", "val", "test")
}
ETHICS_FILES = {
    "test": RemoteFile("ethics_commonsense/cm_test.csv", _ETHICS_GH + "cm_test.csv"),
    "test_hard": RemoteFile("ethics_commonsense/cm_test_hard.csv", _ETHICS_GH + "cm_test_hard.csv"),
    "train": RemoteFile(
        "ethics_commonsense/cm_train.csv", _ETHICS_TAR, tar_member="ethics/commonsense/cm_train.csv"
    ),
}
ETHICS_TEST_SIZE = 2000  # the study evaluates the first 2,000 short test sentences
STANDIN_NOTE = (
    "ETHICS train split is not available offline: the short rows of cm_test_hard stand in "
    "for it (disjoint from cm_test)"
)


def load_jcm(split: str = "test", path: Path | None = None) -> JudgementSet:
    """JCommonsenseMorality (Takeshita et al., 2023); consecutive rows form minimal pairs."""
    if split not in JCM_FILES:
        raise CultureAlignError(f"JCM has no split {split!r}", f"use one of {list(JCM_FILES)}")
    file = locate(JCM_FILES[split], path)
    rows = _read_table(file, required=("sent", "label"))
    items = [
        Judgement(f"jcm-{split}-{n}", _text(r, "sent", file, n), _label(r, "label", file, n))
        for n, r in rows
    ]
    return _finish("jcm", split, "ja", mark_minimal_pairs(items), file)


def load_ethics(split: str = "test", path: Path | None = None) -> JudgementSet:
    """ETHICS commonsense (Hendrycks et al., 2021), short rows only, as in the study.

    ``test`` is the first 2,000 short rows; ``test_hard`` is every short row of cm_test_hard,
    the offline stand-in for ``train`` (which needs cm_train.csv from the ETHICS tarball).
    """
    if split not in ETHICS_FILES:
        raise CultureAlignError(
            f"ETHICS commonsense has no split {split!r}", f"use one of {list(ETHICS_FILES)}"
        )
    file = locate(ETHICS_FILES[split], path)
    rows = _read_table(file, required=("label", "input", "is_short"))
    items = [
        Judgement(f"ethics-{split}-{n}", _text(r, "input", file, n), _label(r, "label", file, n))
        for n, r in rows
        if r["is_short"].strip().lower() == "true"
    ]
    notes = []
    if split == "test":
        items = items[:ETHICS_TEST_SIZE]
    if split == "test_hard":
        notes.append(STANDIN_NOTE)
    return _finish("ethics", split, "en", items, file, notes)


def load_judgement_file(
    path: Path,
    text_column: str = "text",
    label_column: str = "label",
    label_values: dict[str, int] | None = None,
    language: Language = "en",
    name: str | None = None,
) -> JudgementSet:
    """Any CSV or JSONL file; ``label_values`` maps raw label strings to 1 (wrong) / 0 (not)."""
    if not path.is_file():
        raise CultureAlignError(f"data file not found: {path}", "check the path")
    mapping = label_values or {"1": 1, "0": 0}
    bad = {k: v for k, v in mapping.items() if v not in (0, 1)}
    if bad:
        raise CultureAlignError(
            f"label values must map to 1 (wrong) or 0 (not wrong), got {bad}",
            "e.g. --label-values 'unacceptable=1,acceptable=0'",
        )
    rows = _read_table(path, required=(text_column, label_column))
    items = []
    for n, r in rows:
        raw = str(r[label_column]).strip()
        if raw not in mapping:
            raise CultureAlignError(
                f"{path}:{n + 2 if path.suffix == '.csv' else n + 1}: unknown label value {raw!r}",
                f"known values are {sorted(mapping)}; set --label-values",
            )
        items.append(Judgement(f"{path.stem}-{n}", _text(r, text_column, path, n), mapping[raw]))
    return _finish(name or path.stem, "all", language, items, path)


def _finish(name, split, language, items, file: Path, notes=()) -> JudgementSet:
    if not items:
        raise CultureAlignError(
            f"{name} split {split!r} in {file} has no items", "check the file is complete"
        )
    return JudgementSet(name, split, language, items, str(file), sha256_of(file), list(notes))


def _read_table(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    rows = list(_iter_rows(path))
    if not rows:
        raise CultureAlignError(f"{path} has no items (no data rows)", "check the file is complete")
    columns = set(rows[0][1]) if rows else set()
    missing = [c for c in required if c not in columns]
    if missing:
        raise CultureAlignError(
            f"{path} lacks column(s) {missing}; it has {sorted(columns)}",
            "name the right columns (--text-column / --label-column)",
        )
    return rows


def _iter_rows(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        if path.suffix in (".jsonl", ".json"):
            with path.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh):
                    if line.strip():
                        try:
                            yield n, json.loads(line)
                        except json.JSONDecodeError as exc:
                            raise CultureAlignError(
                                f"{path}:{n + 1}: not valid JSON ({exc.msg})", "fix or remove it"
                            ) from exc
        else:
            with path.open(encoding="utf-8", newline="") as fh:
                yield from enumerate(csv.DictReader(fh))
    except UnicodeDecodeError as exc:
        raise CultureAlignError(f"{path} is not UTF-8 text", "convert it to UTF-8") from exc


def _text(row: dict, column: str, path: Path, n: int) -> str:
    value = row.get(column)
    if not isinstance(value, str) or not value.strip():
        raise CultureAlignError(f"{path}: row {n + 1} has an empty {column!r}", "fix the row")
    return value.strip()


def _label(row: dict, column: str, path: Path, n: int) -> int:
    raw = str(row.get(column, "")).strip()
    if raw not in ("0", "1"):
        raise CultureAlignError(
            f"{path}: row {n + 1} has label {raw!r}; expected 0 or 1", "fix the row"
        )
    return int(raw)
