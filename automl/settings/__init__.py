"""What a run is asked to do, as typed plain values: the schema of every setting with its default
written once (``schema``), how a dataset's rows are split (``split``), and an ``Experiment``, one
study's settings marked problem, budget or execution (``experiment``). Hydra's composition of them
is the configuration layer's (``automl.config``); nothing here imports Hydra.
"""
