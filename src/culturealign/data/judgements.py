"""Judgement datasets: JCM, ETHICS commonsense, and any CSV/JSONL file with text and labels."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from culturealign.data.jsonl import json_object
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
        Judgement(f"jcm-{split}-{r.number}", _text(r, "sent", file), _label(r, "label", file))
        for r in rows
    ]
    return _finish("jcm", split, "ja", mark_minimal_pairs(items), file)


def load_ethics(split: str = "test", path: Path | None = None) -> JudgementSet:
    """ETHICS commonsense (Hendrycks et al., 2021) as the study (Jinnai et al., 2024) uses it.

    ``train`` is every row of cm_train.csv in file order, short and long: the study trains on
    the first 14,000 entries and limits only its evaluation set to short sentences (callers
    take the first 14,000 with ``head``). cm_train.csv ships only in the ETHICS tarball, so it
    is downloaded unless ``$CULTUREALIGN_DATA`` has it. ``test`` is the first 2,000 short rows
    of cm_test. ``test_hard`` is every short row of cm_test_hard, the offline stand-in for
    ``train`` (our choice, not the study's); its sets carry ``STANDIN_NOTE``.
    """
    if split not in ETHICS_FILES:
        raise CultureAlignError(
            f"ETHICS commonsense has no split {split!r}", f"use one of {list(ETHICS_FILES)}"
        )
    file = locate(ETHICS_FILES[split], path)
    rows = _read_table(file, required=("label", "input", "is_short"))
    if split != "train":
        rows = [r for r in rows if str(r.fields["is_short"]).strip().lower() == "true"]
    items = [
        Judgement(f"ethics-{split}-{r.number}", _text(r, "input", file), _label(r, "label", file))
        for r in rows
    ]
    notes = []
    if split == "test":
        items = items[:ETHICS_TEST_SIZE]
    if split == "test_hard":
        notes.append(STANDIN_NOTE)
    return _finish("ethics", split, "en", items, file, notes)


def load_named(name: str, split: str, path: Path | None = None) -> JudgementSet:
    """A shipped judgement dataset by name: ``jcm`` or ``ethics``.

    The one name->loader table; ``path`` is a file or folder that overrides where the split is
    read from (as ``load_jcm``/``load_ethics`` take it). Generic files go to
    ``load_judgement_file``, which needs column names.
    """
    if name == "jcm":
        return load_jcm(split, path)
    if name == "ethics":
        return load_ethics(split, path)
    raise CultureAlignError(f"unknown dataset {name!r}", "use jcm, ethics or file")


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
    for r in rows:
        raw = str(_field(r, label_column, path)).strip()
        if raw not in mapping:
            raise CultureAlignError(
                f"{path}:{r.line}: unknown label value {raw!r}",
                f"known values are {sorted(mapping)}; set --label-values",
            )
        items.append(
            Judgement(f"{path.stem}-{r.number}", _text(r, text_column, path), mapping[raw])
        )
    return _finish(name or path.stem, "all", language, items, path)


def _finish(
    name: str,
    split: str,
    language: Language,
    items: list[Judgement],
    file: Path,
    notes: Sequence[str] = (),
) -> JudgementSet:
    if not items:
        raise CultureAlignError(
            f"{name} split {split!r} in {file} has no items", "check the file is complete"
        )
    return JudgementSet(name, split, language, items, str(file), sha256_of(file), list(notes))


class _Row(NamedTuple):
    number: int  # stable item-id number: data row for CSV, line index for JSONL
    line: int  # 1-based line where the row starts, for error messages
    fields: dict[str, Any]


def _read_table(path: Path, required: tuple[str, ...]) -> list[_Row]:
    rows = list(_iter_rows(path))
    if not rows:
        raise CultureAlignError(f"{path} has no items (no data rows)", "check the file is complete")
    columns = set(rows[0].fields)
    missing = [c for c in required if c not in columns]
    if missing:
        raise CultureAlignError(
            f"{path} lacks column(s) {missing}; it has {sorted(columns)}",
            "name the right columns (--text-column / --label-column)",
        )
    return rows


def _iter_rows(path: Path) -> Iterator[_Row]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            lines = _without_nul(fh, path)
            if path.suffix in (".jsonl", ".json"):
                yield from _json_rows(lines, path)
            else:
                yield from _csv_rows(lines, path)
    except UnicodeDecodeError as exc:
        raise CultureAlignError(f"{path} is not UTF-8 text", "convert it to UTF-8") from exc


def _without_nul(lines: Iterable[str], path: Path) -> Iterator[str]:
    # Python's csv module reads NUL bytes silently since 3.11; in a text dataset they mean a
    # UTF-16 or binary file, whose "rows" would be garbage, so refuse them.
    for number, line in enumerate(lines, 1):
        if "\x00" in line:
            raise CultureAlignError(
                f"{path}:{number}: contains a NUL byte (not plain text)",
                "the file may be UTF-16 or binary; save it as UTF-8 text",
            )
        yield line


def _json_rows(lines: Iterable[str], path: Path) -> Iterator[_Row]:
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        record = json_object(line, path, n + 1, '{"text": ..., "label": ...}')
        yield _Row(n, n + 1, record)


def _csv_rows(lines: Iterable[str], path: Path) -> Iterator[_Row]:
    # csv.DictReader files extra fields under None and pads short rows with None, which then
    # surface as a puzzling "label 'None'"; a row whose field count differs is an error here.
    reader = csv.reader(lines)
    header = next((row for row in reader if row), None)  # blank lines before it, as DictReader
    if header is None:
        return
    index, start = 0, reader.line_num + 1
    for values in reader:
        line, start = start, reader.line_num + 1  # a quoted field may span several lines
        if not values:
            continue
        if len(values) != len(header):
            raise CultureAlignError(
                f"{path}:{line}: row has {len(values)} fields but the header has "
                f"{len(header)} ({', '.join(header)})",
                "quote fields that contain commas, or fix the row",
            )
        yield _Row(index, line, dict(zip(header, values, strict=True)))
        index += 1


def _field(row: _Row, column: str, path: Path) -> Any:
    if column not in row.fields:
        raise CultureAlignError(f"{path}:{row.line}: row has no {column!r}", "fix the row")
    return row.fields[column]


def _text(row: _Row, column: str, path: Path) -> str:
    value = _field(row, column, path)
    if not isinstance(value, str) or not value.strip():
        raise CultureAlignError(f"{path}:{row.line}: empty {column!r}", "fix the row")
    return value.strip()


def _label(row: _Row, column: str, path: Path) -> int:
    raw = str(_field(row, column, path)).strip()
    if raw not in ("0", "1"):
        raise CultureAlignError(f"{path}:{row.line}: label {raw!r}; expected 0 or 1", "fix the row")
    return int(raw)
