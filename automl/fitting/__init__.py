"""Where fits run: data, learners, scores and saved models.

The typed requests and answers between a study and its fits (``protocol``); the ``Fitter`` that
answers them (``fitter``, and ``population`` for trials trained together) on an experiment
resolved where its fits run (``resolved``), by loading and splitting data (``data``), encoding it
per learner family (``preprocess``), fitting and scoring (``evaluate``) and blending (``ensemble``);
the final model as one estimator (``winner``): a refit, or the best trial's fold models (``bag``), why it scores (``explain``) and its file
(``model_file``); the runners that carry requests to a fitter in this process or a watched worker
(``isolation``, ``worker``, started safely by ``spawn``), and the GPU a study's fits use
(``devices``). Importing a module of this folder costs
nothing heavy: scikit-learn is imported by the modules that fit, which only the worker loads.
"""
