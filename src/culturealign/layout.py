"""File and folder names of a run, shared by the runners that write them and the reports that
read them back.

An evaluation run folder (``culturealign eval --out``, or one ``stages/eval/<key>/`` of an
experiment)::

    run.json         what is being run; a resume must match it
    items.jsonl      one :class:`~culturealign.evaluation.records.ItemRecord` per line
    summary.json     the :class:`~culturealign.evaluation.records.RunSummary`
    results.md       the summary as a Markdown table
    per_country.csv, report.md, per_country.png    survey tasks only

An experiment run folder (``culturealign run --out``)::

    spec.yaml, plan.json, log.jsonl
    stages/{pairs,train,eval}/<key>/
    report.md, report.html, heatmap.png, flips.csv
"""

from __future__ import annotations

# one evaluation run
RUN_FILE = "run.json"
ITEMS_FILE = "items.jsonl"
SUMMARY_FILE = "summary.json"
RESULTS_FILE = "results.md"
PER_COUNTRY_CSV = "per_country.csv"
PER_COUNTRY_PNG = "per_country.png"

# one experiment run
PLAN_FILE = "plan.json"
STAGES_DIR = "stages"
EVAL_STAGE = "eval"  # stages/eval/<key>/ holds one evaluation run folder

# reports (an experiment's and a survey run's)
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
HEATMAP_PNG = "heatmap.png"
FLIPS_CSV = "flips.csv"
