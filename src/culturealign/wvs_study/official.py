"""The official WVS wave 7 file -> weighted per-country answer shares and mean scores.

The file (``WVS_Cross-National_Wave_7_csv_v6_0.csv``, or the ``.sav`` / ``.dta`` release) cannot be
redistributed: users download it from worldvaluessurvey.org after registering. It holds one row per
respondent with the WVS variable names: ``B_COUNTRY_ALPHA`` (ISO 3166-1 alpha-3), ``W_WEIGHT``
(the survey weight: age, sex, education and region margins) and ``Q1``..``Q290``. Negative codes
are missing answers (-1 don't know, -2 no answer, -3 not applicable, -4 not asked, -5 missing)
and are dropped before shares are taken, as WorldValuesBench does.

Output (:func:`prepare`): ``proportions.json`` in CultureSPA's layout
(``{country: {question: {code: share}}}``, codes sorted by share so the first is the majority),
``means.csv`` (weighted mean score per country and question after WorldValuesBench's answer
adjustment, raw and normalised to 0..1) and ``countries.json``.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from culturealign.data.wvs import load_answer_adjustment, load_worldvaluesbench_meta
from culturealign.errors import CultureAlignError
from culturealign.paths import atomic_path, write_json_atomic

COUNTRY = "B_COUNTRY_ALPHA"
WEIGHT = "W_WEIGHT"
DOWNLOAD_HINT = (
    "download the WVS wave 7 file yourself (it cannot be redistributed): register at "
    "https://www.worldvaluessurvey.org/WVSDocumentationWV7.jsp and get "
    "WVS_Cross-National_Wave_7_csv_v6_0.zip (or the SPSS .sav / Stata .dta version), unzip it and "
    "pass the .csv/.sav/.dta path"
)
PROPORTIONS_FILE = "proportions.json"
MEANS_FILE = "means.csv"
COUNTRIES_FILE = "countries.json"


def read_official(path: Path, columns: Iterable[str] | None = None) -> Any:
    """The respondent table of the official file (CSV, SPSS ``.sav`` or Stata ``.dta``).

    Codes are kept as numbers (no value labels), so missing codes stay negative.
    """
    import pandas as pd

    if not path.is_file():
        raise CultureAlignError(f"WVS wave 7 file not found: {path}", DOWNLOAD_HINT)
    wanted = list(columns) if columns is not None else None
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(encoding="utf-8", errors="replace") as fh:
                header = fh.readline()
            sep = ";" if header.count(";") > header.count(",") else ","
            cols = None if wanted is None else (lambda c: c in wanted)
            frame = pd.read_csv(path, sep=sep, usecols=cols, low_memory=False)
        elif suffix == ".sav":
            frame = pd.read_spss(path, usecols=wanted, convert_categoricals=False)
        elif suffix == ".dta":
            frame = pd.read_stata(path, columns=None, convert_categoricals=False)
        else:
            raise CultureAlignError(
                f"{path}: unknown WVS file type {suffix!r}", "give the .csv, .sav or .dta file"
            )
    except (ValueError, OSError) as exc:
        raise CultureAlignError(f"{path}: cannot read it ({exc})", DOWNLOAD_HINT) from exc
    if wanted is not None:
        frame = frame[[c for c in frame.columns if c in wanted]]
    return frame


@dataclass(frozen=True)
class Prepared:
    """Weighted per-country shares and means of the value questions present in the file."""

    proportions: dict[str, dict[str, dict[str, float]]]  # country -> question -> code -> share
    means: list[dict[str, Any]]  # rows of means.csv
    countries: list[str]
    questions: list[str]
    weighted: bool


def country_distributions(
    frame: Any, data_dir: Path | None = None, weight: str | None = WEIGHT
) -> Prepared:
    """Shares and means per country for every WorldValuesBench value question in ``frame``.

    ``weight=None`` counts respondents equally (the study's choice is not stated; weighted is
    ours and the default).
    """
    import pandas as pd

    meta = load_worldvaluesbench_meta(data_dir)
    adjust = load_answer_adjustment(data_dir)
    if COUNTRY not in frame.columns:
        raise CultureAlignError(
            f"the WVS file has no {COUNTRY} column", f"is this the wave 7 release? {DOWNLOAD_HINT}"
        )
    if weight is not None and weight not in frame.columns:
        raise CultureAlignError(
            f"the WVS file has no {weight} weight column",
            "use the official release, or --no-weights to count respondents equally",
        )
    questions = [q for q, m in meta.items() if m.use_case == "value" and q in frame.columns]
    if not questions:
        raise CultureAlignError(
            "the WVS file has none of the WorldValuesBench value questions (Q1..Q259)",
            DOWNLOAD_HINT,
        )
    w = frame[weight].astype(float) if weight else pd.Series(1.0, index=frame.index)
    if (w < 0).any() or w.isna().any():
        raise CultureAlignError(f"{weight}: negative or empty weights", "check the file")
    country = frame[COUNTRY].astype(str).str.strip()
    props: dict[str, dict[str, dict[str, float]]] = {c: {} for c in sorted(country.unique())}
    means: list[dict[str, Any]] = []
    for qid in questions:
        codes = pd.to_numeric(frame[qid], errors="coerce")
        valid = codes.notna() & (codes >= 0)  # negative: don't know / no answer / not asked
        table = (
            pd.DataFrame({"c": country[valid], "code": codes[valid].astype(int), "w": w[valid]})
            .groupby(["c", "code"])["w"]
            .agg(["sum", "size"])
        )
        for c, part in table.groupby(level=0):
            total = float(part["sum"].sum())
            if total <= 0:
                continue
            shares = {str(int(code)): float(s) / total for (_, code), s in part["sum"].items()}
            props[str(c)][qid] = dict(sorted(shares.items(), key=lambda kv: -kv[1]))
            row = _mean_row(str(c), qid, shares, adjust.get(qid, {}), meta[qid].scale)
            means.append(row | {"category": meta[qid].category, "n": int(part["size"].sum())})
    return Prepared(props, means, list(props), questions, weight is not None)


def _mean_row(
    country: str,
    qid: str,
    shares: dict[str, float],
    adjust: dict[str, str],
    scale: tuple[int, int] | None,
) -> dict[str, Any]:
    """Mean of the adjusted codes (codes the adjustment drops leave the mean, renormalised)."""
    scored = [(float(adjust.get(c, c)), p) for c, p in shares.items() if adjust.get(c, c) != ""]
    mass = sum(p for _, p in scored)
    mean = sum(s * p for s, p in scored) / mass if mass > 0 else math.nan
    lo, hi = scale if scale else (math.nan, math.nan)
    norm = (mean - lo) / (hi - lo) if scale and hi > lo else math.nan
    return {"country": country, "question": qid, "mean": mean, "mean_normalised": norm}


def prepare(
    path: Path, out_dir: Path, data_dir: Path | None = None, weight: str | None = WEIGHT
) -> Prepared:
    """Read the official file and write proportions.json, means.csv and countries.json."""
    meta = load_worldvaluesbench_meta(data_dir)
    wanted = {COUNTRY, *([weight] if weight else []), *meta}
    prepared = country_distributions(read_official(path, wanted), data_dir, weight)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / PROPORTIONS_FILE, prepared.proportions)
    with atomic_path(out_dir / MEANS_FILE) as tmp, tmp.open("w", newline="") as fh:
        fields = ["country", "question", "category", "mean", "mean_normalised", "n"]
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(prepared.means)
    info = {"source": str(path), "weighted": prepared.weighted, "countries": prepared.countries}
    info["questions"] = len(prepared.questions)
    write_json_atomic(out_dir / COUNTRIES_FILE, info)
    return prepared


def read_proportions(prepared_dir: Path) -> dict[str, dict[str, dict[str, float]]]:
    """``proportions.json`` of a prepared folder (``culturealign wvs prepare``)."""
    path = prepared_dir / PROPORTIONS_FILE
    if not path.is_file():
        raise CultureAlignError(
            f"{path} not found", "run `culturealign wvs prepare <WVS file> --out DIR` first"
        )
    data: dict[str, dict[str, dict[str, float]]] = json.loads(path.read_text(encoding="utf-8"))
    return data
