"""GlobalOpinionQA (Durmus et al. 2023) as per-country answer distributions.

The original ``Anthropic/llm_global_opinions`` is on the Hugging Face hub only; the two public
flattenings below (see ``shared/data/globalopinionqa_subsets/SOURCE.md``) are what this loader
reads. Each row is one (question, country, distribution); rows are grouped into one
:class:`SurveyQuestion` per (question text, options), with options labelled A, B, C... as in
the CultureBank prompt. Neither file, nor their union, is the full dataset: results on them
are not comparable to numbers on the 2,556-question original.

* ``modular_pluralism``: Feng et al. 2024, ``distributional_test_globalopinionqa_small.json``,
  5,752 rows whose ``question`` embeds "Question: ...\\nOptions: ...\\nAnswer:".
* ``globalopinionbench``: awesel/GlobalOpinionBench ``eval.json``, 4,633 rows.
* ``union``: both; a (question, country) present in both keeps the modular_pluralism row.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from culturealign.data.sources import RemoteFile, locate, sha256_of
from culturealign.data.survey import SurveyQuestion, SurveySet, read_json
from culturealign.errors import CultureAlignError

Subset = Literal["modular_pluralism", "globalopinionbench", "union"]
SUBSETS: tuple[str, ...] = ("modular_pluralism", "globalopinionbench", "union")

FILES: dict[str, RemoteFile] = {
    "modular_pluralism": RemoteFile(
        "globalopinionqa_subsets/distributional_test_globalopinionqa_small.json",
        "https://raw.githubusercontent.com/BunsenFeng/modular_pluralism/"
        "56bd05d2e6d824e93a5c0bee5ac26b56aeb299aa/input/distributional_test_globalopinionqa_small.json",
    ),
    "globalopinionbench": RemoteFile(
        "globalopinionqa_subsets/eval.json",
        "https://raw.githubusercontent.com/awesel/GlobalOpinionBench/"
        "0d171539644738f3602243b981bd1b6a912acd4a/data/eval.json",
    ),
}

Row = tuple[str, tuple[str, ...], str, tuple[float, ...]]  # question, options, country, dist


def _strip_wrapping(text: str) -> str:
    """``"Question: q\\nOptions: ...\\nAnswer:"`` -> ``q`` (Feng et al. embed the prompt)."""
    body = text.removeprefix("Question: ")
    cut = body.rfind("\nOptions:")
    return (body[:cut] if cut >= 0 else body).strip()


def _rows(subset: str, data: list[dict[str, Any]]) -> list[Row]:
    out = []
    for row in data:
        if subset == "modular_pluralism":
            text, country, dist = (
                _strip_wrapping(row["question"]),
                row["attribute"],
                row["gold_distribution"],
            )
        else:
            text, country, dist = row["question"].strip(), row["country"], row["distribution"]
        options = tuple(str(o) for o in row["options"])
        if len(dist) != len(options):
            raise ValueError(f"{len(dist)} shares for {len(options)} options")
        out.append((text, options, str(country), tuple(float(x) for x in dist)))
    return out


def _read_subset(subset: str, data_dir: Path | None) -> tuple[list[Row], Path]:
    path = locate(FILES[subset], data_dir)
    try:
        return _rows(subset, read_json(path, list)), path
    except (KeyError, TypeError, ValueError) as exc:
        raise CultureAlignError(
            f"{path}: unexpected row layout ({type(exc).__name__}: {exc})",
            "see globalopinionqa_subsets/SOURCE.md for the expected fields",
        ) from exc


def _question_id(text: str, options: tuple[str, ...]) -> str:
    digest = hashlib.sha1("\x1f".join([text, *options]).encode("utf-8")).hexdigest()
    return f"goqa-{digest[:10]}"


def _group(rows: list[Row]) -> tuple[list[SurveyQuestion], int]:
    grouped: dict[tuple[str, tuple[str, ...]], dict[str, tuple[float, ...]]] = {}
    duplicates = 0
    for text, options, country, dist in rows:
        dists = grouped.setdefault((text, options), {})
        if country in dists:
            duplicates += 1
            continue
        dists[country] = dist
    questions = [
        SurveyQuestion(
            id=_question_id(text, options),
            text=text,
            options=options,
            labels=tuple(chr(ord("A") + i) for i in range(len(options))),
            scores=(None,) * len(options),
            distributions=dists,
            majority={c: max(range(len(d)), key=d.__getitem__) for c, d in dists.items()},
        )
        for (text, options), dists in grouped.items()
    ]
    return questions, duplicates


def load_globalopinionqa(subset: Subset = "union", data_dir: Path | None = None) -> SurveySet:
    """GlobalOpinionQA questions with per-country distributions from the public subsets."""
    if subset not in SUBSETS:
        raise CultureAlignError(
            f"unknown GlobalOpinionQA subset {subset!r}", f"use one of {SUBSETS}"
        )
    names = ["modular_pluralism", "globalopinionbench"] if subset == "union" else [subset]
    rows: list[Row] = []
    hashes, sources = [], []
    for name in names:
        part, path = _read_subset(name, data_dir)
        rows += part
        hashes.append(f"{name}:{sha256_of(path)}")
        sources.append(FILES[name].url)
    questions, duplicates = _group(rows)
    countries = tuple(dict.fromkeys(c for q in questions for c in q.distributions))
    notes = [f"subset {subset}: {len(rows)} rows, not the full GlobalOpinionQA"]
    if duplicates:
        notes.append(f"{duplicates} duplicate (question, country) rows dropped (first kept)")
    return SurveySet(
        name="globalopinionqa",
        questions=questions,
        countries=countries,
        source=" + ".join(sources),
        sha256=" ".join(hashes),
        notes=notes,
    )
