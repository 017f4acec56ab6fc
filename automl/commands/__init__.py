"""The entry points: ``automl`` (``start``, then ``cli`` with its Hydra ``callbacks``),
``automl-leaderboard`` (``leaderboard``), ``automl-report`` (``report``), ``automl-predict``
(``predict``) and ``automl-plugins`` (``plugins``). Each reads its arguments, calls the layers
below, and turns a user's mistake into one line and a non-zero exit. From Python, ``automl.compare``
(``compare``) runs the ``automl`` command and returns its result as a ``Comparison``
(``comparison``), read back from the storage.
"""
