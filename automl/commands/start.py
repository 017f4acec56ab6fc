"""The ``automl`` command's first instructions: start the worker, then everything else.

The worker (:mod:`automl.fitting.isolation`) is a fresh interpreter that imports the fitting stack
(scikit-learn, SciPy, the plugins' learners: two to three seconds on two cores). Spawned before the
command imports Hydra, Optuna and its own modules, it does that on the other core while the command
imports, composes and checks its jobs (about as long), so that its start costs the command little.
This module imports nothing of the harness before the worker is on its way, which is why it is not
:mod:`automl.commands.cli` (imported whole before its ``main`` can run).
"""

from __future__ import annotations

import sys
import time

# When the command's own code began, a few tens of milliseconds after its interpreter started: what
# its budget counts from where the process itself is older (automl.search.allocation.process_started).
BEGAN = time.monotonic()  # before any import of the harness


def main() -> None:
    """Entry point of ``automl``: start the worker unless the command asks for none, then run
    :func:`automl.commands.cli.main`, which finds it started."""
    if "trial.isolation=inprocess" not in sys.argv[1:]:
        from automl.fitting import isolation

        isolation.prestart()
    from automl.commands import cli

    cli.main(BEGAN)


if __name__ == "__main__":
    main()
