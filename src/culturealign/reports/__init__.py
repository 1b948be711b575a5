"""Reports: everything that presents finished runs (tables, statistics, plots, Markdown/HTML).

Reads what the runners wrote (:mod:`culturealign.evaluation.records`, file names in
:mod:`culturealign.layout`) and never runs a model. Modules:

* :mod:`.summary_table`: ``results.md``, the summaries of evaluation runs as one table;
* :mod:`.survey`: a survey run's ``per_country.csv``, ``report.md``, ``per_country.png``;
* :mod:`.collect`: an experiment run folder read back (plan grid, summaries, item records);
* :mod:`.tables`, :mod:`.stats`, :mod:`.plots`, :mod:`.render`: the experiment report's
  tables, paired tests, heatmap and Markdown/HTML rendering;
* :mod:`.experiment`: the experiment report itself (:func:`write_experiment_report`).

Evaluation and experiments import this package only where a run ends by writing its report,
inside that function, so there is no import loop. This ``__init__`` imports nothing, so the end
of an evaluation run (``results.md``) does not pay for pandas or matplotlib.
"""
