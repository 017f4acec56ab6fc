"""The typed schema of every setting of the ``automl`` command: each default is written here once.

Hydra validates the composed config against it (types; automl.config.checks adds the ranges), the
YAML files under ``conf/`` only choose options of groups, and
:class:`automl.settings.experiment.Experiment` and :class:`automl.settings.split.SplitConfig` take
their defaults from it. ``automl --cfg job`` prints the whole config of a job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING


@dataclass
class SearchSchema:
    n_trials: int = 20  # trials per study, counting those a previous run left in the storage
    timeout: float | None = 60.0  # seconds of search per study, summed over runs; null: no limit
    # Trials asked at once and trained together as one program, by a learner that can (the MLP
    # and the CNN); 1: one at a time. Members share all but the learner's population_varies.
    population: int = 1


@dataclass
class TrialSchema:
    isolation: str = "subprocess"  # subprocess: fits run in a watched worker; inprocess: no limits
    timeout: float | None = 3600.0  # hard wall-clock limit per trial and for the refit, seconds
    memory: float | None = None  # MiB the worker process may use (its data included); null: none
    heartbeat: int | None = 60  # database storages: a running trial beats this often (s)


@dataclass
class SplitSchema:
    test_size: float = 0.2  # share held out for testing when the dataset has no test split
    stratify: bool = True  # stratify classification splits by class


@dataclass
class ValidationSchema:
    method: str = (
        "holdout"  # holdout, cv, or auto: cv for small data, holdout for large (FLAML's rule)
    )
    size: float = 0.2  # holdout: share of the development rows used for validation
    folds: int = 5  # cv: number of folds
    # cv: how many times the folds are cut, each time with another shuffle (repeated k-fold); each
    # row's out-of-fold predictions are averaged over the repeats, a trial scores the mean over
    # every fold, and a bag holds folds x repeats models.
    repeats: int = 1


@dataclass
class LeaderboardSchema:
    dir: str = "leaderboards"  # leaderboards are written here as <dataset>-<metric>.csv and .md
    show: bool = True  # and printed in the terminal


@dataclass
class Schema:
    dataset: Any = MISSING  # dataset=<name>; its options are dataset.<option>=<value>
    model: Any = MISSING  # model=<name>; model.params.C=1 fixes one, model.space.C.low=0.01 a range
    search: SearchSchema = field(default_factory=SearchSchema)
    trial: TrialSchema = field(default_factory=TrialSchema)
    sampler: Any = MISSING  # an Optuna sampler (conf/sampler/)
    pruner: Any = MISSING  # an Optuna pruner (conf/pruner/)
    validation: ValidationSchema = field(default_factory=ValidationSchema)
    split: SplitSchema = field(default_factory=SplitSchema)
    leaderboard: LeaderboardSchema = field(default_factory=LeaderboardSchema)
    seed: int = 0  # seeds the splits, the sampler and every learner
    metric: str = "auto"  # a metric name, or auto: accuracy (classification), rmse (regression)
    output_dir: str = "results"  # holds the default storage (automl.journal) and each run's logs
    storage: str | None = None  # any Optuna storage URL or x.journal; null: output_dir's journal
    threads: int = 0  # threads per learner; 0: all cores
    device: str = "auto"  # auto, cpu, cuda or cuda:N: where deep learners train
    progress: bool = True  # live progress bar per study
    # How each learner's final model is made: bag (its best trial's fold models averaged, no refit;
    # refitted where they are not at hand), refit (one model refitted on all development rows,
    # beside which the bag's test score is reported), or auto: the bag under k-fold
    # cross-validation, the refit under a holdout, where a model of 80% of the rows measured worse
    # (benchmarks/RESULTS.md); the bag there too when the budget has no time left for a refit.
    final: str = "auto"
    skip_inapplicable: bool = False  # true (suites): a model that cannot take a dataset is skipped
    data_dir: str | None = "${oc.env:AUTOML_DATA,data}"  # local copies of public data (presets)
    worker: int = 0  # jobs equal but for this are workers of one study: sweep worker=0,1,2,3
    # Seconds for the whole comparison of a dataset (search, refits, ensemble, leaderboards): every
    # learner in one job, its share of the time where it pays; null: one study per job, as usual.
    budget: float | None = None
    learners: list[str] | None = None  # budget mode: the learners compared (model=a,b sets it)
