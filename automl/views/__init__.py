"""Views over the storage: leaderboards, the comparison across datasets, the report.

They read records (``automl.storage``) and the kept test evidence, and write tables with intervals
(``leaderboard``, ``evidence``, ``intervals``), the pick and why (``selection``), aggregates across datasets (``across``), pictures
(``figures``), the report (``report``, ``report_html``) and the AutoML Benchmark's result format
(``amlb``); ``publish`` writes every file of them.
A view never imports the fitting stack, the search, scikit-learn or a learner: it works wherever
the storage can be read.
"""
