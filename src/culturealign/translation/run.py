"""Translate a dataset's text column through the per-sentence cache; write file + provenance.

Input rows come from a shipped judgement set (``jcm``/``ethics``: id, text, label) or any
CSV/JSONL file (every column carried over). The output has the same columns with ``text``
translated and the original kept as ``source_text``, so ``--task judgement``, ``prefs`` and
the experiment spec read it like any judgement file; ``<out>.meta.json`` records the
translator, its decoding settings and the source file's sha256.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError
from culturealign.paths import atomic_path, write_json_atomic
from culturealign.translation.cache import TranslationCache
from culturealign.translation.languages import wrong_script
from culturealign.translation.translators import Translator

Progress = Callable[[int], None]


def translate_texts(
    translator: Translator,
    texts: Sequence[str],
    cache: TranslationCache | None = None,
    progress: Progress | None = None,
) -> tuple[list[str], int]:
    """Translations of ``texts`` (cached ones reused, each new sentence once); and hit count."""
    cache = cache or TranslationCache(translator.identity)
    todo = list(dict.fromkeys(t for t in texts if t.strip() and cache.get(t) is None))
    pending = set(todo)
    hits = sum(1 for t in texts if t not in pending)
    if progress and hits:
        progress(hits)
    for start in range(0, len(todo), translator.batch_size):
        batch = todo[start : start + translator.batch_size]
        got = translator.translate(batch)
        cache.add(dict(zip(batch, got, strict=True)))
        if progress:
            done = set(batch)
            progress(sum(1 for t in texts if t in done))
    return [cache.get(t) or "" if t.strip() else "" for t in texts], hits


def read_rows(path: Path, text_column: str) -> list[dict[str, Any]]:
    """Rows of a CSV or JSONL file; the text column must exist and not be empty everywhere."""
    if not path.is_file():
        raise CultureAlignError(f"input file not found: {path}", "check the path")
    if path.suffix == ".jsonl":
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
    elif path.suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t" if path.suffix == ".tsv" else ","))
    else:
        raise CultureAlignError(
            f"cannot read {path.suffix or 'a file without suffix'}",
            "give a .csv, .tsv or .jsonl file",
        )
    check_text_column(rows, text_column, str(path))
    return rows


def check_text_column(rows: list[dict[str, Any]], column: str, where: str) -> None:
    if not rows:
        raise CultureAlignError(f"{where} has no rows", "check the file is complete")
    if column not in rows[0]:
        raise CultureAlignError(
            f"{where} has no column {column!r}",
            f"set --text-column to one of: {', '.join(rows[0])}",
        )
    if not any(str(r.get(column) or "").strip() for r in rows):
        raise CultureAlignError(
            f"column {column!r} of {where} is empty in every row",
            "choose the column that holds the text (--text-column)",
        )


def translate_rows(
    rows: list[dict[str, Any]],
    translator: Translator,
    out: Path,
    source: dict[str, Any],
    text_column: str = "text",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Translate ``rows[*][text_column]`` into ``out`` (CSV/JSONL); returns the provenance."""
    check_text_column(rows, text_column, str(source.get("path") or source.get("name")))
    if out.suffix not in (".csv", ".jsonl"):
        raise CultureAlignError(f"output must be .csv or .jsonl, got {out.name}", "rename --out")
    start, cpu = time.perf_counter(), time.process_time()
    texts = [str(r.get(text_column) or "") for r in rows]
    translated, hits = translate_texts(translator, texts, progress=progress)
    new = [
        {**r, text_column: t, "source_text": s}
        for r, s, t in zip(rows, texts, translated, strict=True)
    ]
    _write(out, new)
    meta = {
        "translator": translator.identity,
        "source": source,
        "rows": len(rows),
        "text_column": text_column,
        "cache_hits": hits,
        "failure_shares": failure_shares(texts, translated, translator.identity["target"]),
        "seconds": round(time.perf_counter() - start, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
    }
    write_json_atomic(meta_path(out), meta)
    return meta


def meta_path(out: Path) -> Path:
    return out.with_name(out.name + ".meta.json")


def _write(out: Path, rows: list[dict[str, Any]]) -> None:
    with atomic_path(out) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        if out.suffix == ".jsonl":
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        else:
            fields = list(dict.fromkeys(k for r in rows for k in r))
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)


def failure_shares(sources: Sequence[str], outputs: Sequence[str], target: str) -> dict[str, float]:
    """Shares of outputs that are empty, identical to the source, or not in ``target``'s script."""
    pairs = [(s, o) for s, o in zip(sources, outputs, strict=True) if s.strip()]
    n = max(len(pairs), 1)
    return {
        "empty": round(sum(1 for _, o in pairs if not o.strip()) / n, 4),
        "unchanged": round(sum(1 for s, o in pairs if o.strip() == s.strip()) / n, 4),
        "wrong_script": round(sum(1 for _, o in pairs if wrong_script(o, target)) / n, 4),
    }
