"""The ``automl`` command: a Hydra app whose every job is one study, and leaderboards at the end.

Jobs never raise for a user's mistake: they print it, record it next to their outputs and return, so
that one bad job in a sweep cannot stop the others or lose their results. The ``WriteLeaderboards``
callback (:mod:`automl.commands.callbacks`) then builds the sweep's leaderboards from the storage
and exits non-zero if any job failed.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import shlex
import signal
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

import hydra
import optuna
from hydra._internal.utils import get_args_parser
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig

from automl.commands.callbacks import RESULT_FILE, WriteLeaderboards, redact_log_records
from automl.config import nodes, preflight, sweep
from automl.fitting import isolation
from automl.plugin.errors import NotApplicable, UserError, choose
from automl.plugin.manager import load_registry
from automl.plugin.registry import Registry
from automl.search import allocation, budget
from automl.search.study import Summary, run
from automl.storage.urls import redact

log = logging.getLogger("automl")
# When the budget of the next budget-mode job began: the first counts from the process's start (its
# imports and checks are part of "the whole command"); each later one from its own start.
_CLOCK: list[float] = []


def _command(budgeted: bool = False) -> str:
    """The command line that runs this job again on its own (passwords masked). A budget-mode
    job's ``model=`` is only the sweep's placeholder (its learners are ``learners=``): left out."""
    overrides = HydraConfig.get().overrides.task
    if budgeted:
        overrides = [o for o in overrides if not o.startswith("model=")]
    return redact(" ".join(["automl", *(shlex.quote(o) for o in overrides)]))


def _job(cfg: DictConfig) -> dict[str, Any]:
    # Failed trials are logged in one line by automl.search.trials, without Optuna's traceback.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    out = Path(HydraConfig.get().runtime.output_dir)
    try:
        if cfg.budget is not None:
            record = _budget_job(cfg)
        else:
            record = _studied(run(nodes.experiment(cfg, _command())))
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM: keep what finished, then stop the sweep
        _interrupted(cfg, out, getattr(stop, "study", None))
    except NotApplicable as error:
        if not cfg.skip_inapplicable:
            print(f"automl: error: {error}", file=sys.stderr, flush=True)
        record: dict[str, Any] = {"skipped" if cfg.skip_inapplicable else "error": str(error)}
        if cfg.skip_inapplicable:
            log.info("skipped: %s", error)
    except UserError as error:
        print(f"automl: error: {error}", file=sys.stderr, flush=True)
        record = {"error": str(error)}
    except Exception as error:  # a bug, not a mistake: keep the traceback, but in a file
        (out / "traceback.txt").write_text(traceback.format_exc())
        message = f"unexpected {type(error).__name__}: {error} (traceback in {out}/traceback.txt)"
        print(f"automl: error: {message}", file=sys.stderr, flush=True)
        record = {"error": message}
    (out / RESULT_FILE).write_text(json.dumps(record, indent=1))
    return record


def _logged(summary: Summary) -> None:
    test = "-" if summary.test_score is None else f"{summary.test_score:.4f}"
    val = "-" if summary.val_score is None else f"{summary.val_score:.4f}"
    log.info(
        "%s · %s · seed %s: %d trials (%d failed), validation %s %s, test %s",
        summary.dataset, summary.model, summary.seed, summary.complete, summary.failed,
        summary.metric, val, test,
    )  # fmt: skip


def _studied(summary: Summary) -> dict[str, Any]:
    """The record of one study's job."""
    record = asdict(summary)
    if summary.failure:  # a systematic mistake must not pass for a result
        record["error"] = f"{summary.dataset} · {summary.model}: {summary.failure}"
        print(f"automl: error: {record['error']}", file=sys.stderr, flush=True)
    _logged(summary)
    return record


def _budget_job(cfg: DictConfig) -> dict[str, Any]:
    """A budget-mode job: every learner of the dataset within ``budget`` seconds."""
    started = _CLOCK.pop() if _CLOCK else time.monotonic()
    exps = nodes.experiments(cfg, load_registry(), _command(budgeted=True))
    comparison = budget.run(exps, float(cfg.budget), started)
    for each in comparison.summaries:
        _logged(each)
    record: dict[str, Any] = {"studies": comparison.studies, "used": round(comparison.used, 2)}
    if comparison.not_applicable:
        record["not_applicable"] = comparison.not_applicable
    # A learner that only failed, for a reason of its own, is a mistake to report; one that the
    # budget stopped is not. With no learner's result at all, the comparison failed.
    failed = [
        f"{s.dataset} · {s.model}: {s.failure}"
        for s in comparison.summaries
        if s.failure and s.model not in comparison.skipped
    ]
    for model, reason in comparison.skipped.items():
        log.info("%s left the search early: %s", model, reason)
    if not any(s.complete for s in comparison.summaries):
        failed = failed or ["no learner completed a trial within the budget"]
    elif comparison.no_pick:  # trials, but nothing to hand over: never a silent success
        failed.append(comparison.no_pick)
    if failed:
        record["error"] = "; ".join(failed)
        for line in failed:
            print(f"automl: error: {line}", file=sys.stderr, flush=True)
    log.info("budget %g s: %.1f s used", cfg.budget, comparison.used)
    return record


def _interrupted(cfg: DictConfig, out: Path, study: str | None) -> None:
    """Record the stopped job, write the leaderboards of everything that finished, exit 130."""
    record = {"interrupted": "stopped by Ctrl-C or SIGTERM", **({"study": study} if study else {})}
    (out / RESULT_FILE).write_text(json.dumps(record, indent=1))
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode is not None and hydra_cfg.mode.name == "MULTIRUN":
        files = sorted(Path(hydra_cfg.sweep.dir).glob(f"*/{RESULT_FILE}"))
    else:
        files = [out / RESULT_FILE]
    print("\nautoml: interrupted; the running trial is marked and runs again when the same "
          "command is run again", file=sys.stderr, flush=True)  # fmt: skip
    WriteLeaderboards().write(cfg, files)
    sys.exit(130)


def _stop_on_sigterm() -> None:
    """Schedulers (SLURM, Kubernetes) stop jobs with SIGTERM: treat it as Ctrl-C."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


_hydra_main = hydra.main(version_base="1.3", config_path="pkg://automl.conf", config_name="config")(
    _job
)


def check_names(args: list[str], known: Registry) -> None:
    """Reject unknown dataset, model and metric names on the command line before any job starts.

    Hydra would report an unknown dataset or model too, but over a dozen lines; a metric only
    inside each job. Syntax errors are left to Hydra, which reports them well.
    """
    try:
        overrides = OverridesParser.create().parse_overrides([a for a in args if "=" in a])
    except Exception:
        return
    for override in overrides:
        kind = override.key_or_group
        if kind not in ("dataset", "model", "metric") or override.is_delete():
            continue
        try:
            values = (
                list(override.sweep_string_iterator())
                if override.is_sweep_override()
                else [override.value()]
            )
        except Exception:  # glob(...) and other sweeps Hydra expands itself later
            continue
        presets = _presets(kind)  # YAML configs in conf/<group>/ (dataset=kc2, say)
        for value in values:
            if str(value) not in presets and not (kind == "metric" and value == "auto"):
                if str(value) not in known.names(kind):
                    raise choose(kind, str(value), [*known.names(kind), *presets])


def _presets(group: str) -> set[str]:
    folder = importlib.resources.files("automl.conf") / group
    if not folder.is_dir():
        return set()
    return {
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    }


def _checks_jobs(flags: Any) -> bool:
    """Whether the command line runs jobs that preflight can compose as Hydra will (not help,
    information, or a config from another folder)."""
    return not (
        flags.help or flags.hydra_help or flags.info or flags.shell_completion
        or flags.config_path or flags.config_name or flags.config_dir or flags.experimental_rerun
    )  # fmt: skip


def main(began: float | None = None) -> None:
    """Entry point: load plugins, offer their models and datasets to Hydra, check every job's
    settings, then run the app. ``began``: when the command's own code began (the ``automl``
    command's first instruction; without it, now), where a budget's clock starts if the process
    is older (:func:`automl.search.allocation.process_started`)."""
    _CLOCK.append(allocation.process_started(time.monotonic() if began is None else began))
    if "trial.isolation=inprocess" not in sys.argv:
        # Started already by automl.commands.start (the command); not by -m automl.commands.cli.
        isolation.prestart()
    try:
        known = load_registry()
        check_names(sys.argv[1:], known)
        sys.argv[1:] = sweep.arguments(sys.argv[1:], known)  # budget mode: one job per dataset
        flags = get_args_parser().parse_args(sys.argv[1:])
        nodes.store(known)
        if _checks_jobs(flags):
            preflight.check(flags.overrides, known, multirun=flags.multirun and not flags.run)
        _stop_on_sigterm()
        redact_log_records()
    except UserError as error:  # a mistake on the command line, or two plugins with one name
        print(f"automl: error: {error}", file=sys.stderr)
        sys.exit(2)
    _hydra_main()


if __name__ == "__main__":
    main()
