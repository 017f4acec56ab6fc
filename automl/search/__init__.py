"""Optuna searches: one study's trial loop and its three callers.

The trial loop of one study, asking, fitting through a runner, telling and refitting (``trials``);
the plain study of one experiment (``study``), trials trained together as a population
(``population``), and one time budget across the learners of a dataset (``budget``, with its
``allocation`` of time, its learners' first costs from earlier studies in ``costs`` and its
ensemble in ``blend``). Samplers (``samplers``), crash-safe resume
(``recovery``) and the progress line (``progress``) serve them.
"""
