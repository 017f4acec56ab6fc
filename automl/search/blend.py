"""The ensemble of a budget comparison: its own study (a leaderboard row without trials), and the
blend of the learners' refitted bests chosen over their stored validation predictions.

Greedy ensemble selection (:mod:`automl.fitting.ensemble`) chooses weights where the fits run
(``Blend``); the blend of the refits' test predictions is scored once. The members are those
refits (the learners' own rows), so the ensemble costs no extra fit and its test score comes from
the very models the leaderboard reports. If it is not strictly better on validation than its best
member, it is that member. Whether a better ensemble is the pick is the leaderboard's to say
(:mod:`automl.views.selection`): only when its margin on validation is credible.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import optuna

from automl._version import __version__
from automl.fitting import ensemble
from automl.fitting.protocol import Blend, Open, Runner
from automl.search.allocation import BLENDING, SHORTEST, Clock, Learner, member_cost
from automl.search.study import provenance, study_name
from automl.search.trials import evidence, model_path
from automl.settings.experiment import Experiment
from automl.storage import artifacts
from automl.storage.records import (
    ENSEMBLE,
    PREDICTIONS,
    PROBLEM,
    RESULT,
    RUN,
    ProblemRecord,
    ResultRecord,
)

log = logging.getLogger(__name__)


def ensemble_study(learners: Sequence[Learner], exp: Experiment, storage: Any) -> optuna.Study:
    """The study that holds the ensemble's row (and the allocation of the budget) of ``learners``,
    named by its members' studies."""
    desc = learners[0].desc
    members = sorted(one.study.study_name for one in learners)
    name = study_name(desc.dataset, ENSEMBLE, exp.seed, {"members": members})
    study = optuna.create_study(
        study_name=name, storage=storage, direction=desc.direction, load_if_exists=True
    )
    if PROBLEM not in study.user_attrs:
        record = ProblemRecord(
            dataset=desc.dataset, model=ENSEMBLE, seed=exp.seed, metric=desc.metric,
            direction=desc.direction, task=desc.task, version=__version__,
            config={"members": members, "data": desc.fingerprint}, kind=ENSEMBLE,
            validation=desc.validation,
        )  # fmt: skip
        study.set_user_attr(PROBLEM, record.stored())
    libraries = dict.fromkeys(library for one in learners for library in one.desc.libraries)
    study.set_user_attr(RUN, provenance(exp, list(libraries)).stored())
    return study


def _members(
    learners: Sequence[Learner], results: dict[str, ResultRecord]
) -> list[tuple[Learner, ResultRecord, Any]]:
    """The learners whose refit kept its test predictions, with their best trial's kept validation
    predictions: what can be blended. A baseline (``Model.baseline``) is never a member."""
    members = []
    for learner in learners:
        if learner.desc.baseline:
            continue
        result = results.get(learner.exp.model)
        if result is None or result.error or result.predictions is None:
            continue
        trials = learner.study.get_trials(deepcopy=False)
        best = trials[result.best_trial] if result.best_trial is not None else None
        if best is None or PREDICTIONS not in best.user_attrs:
            continue
        members.append((learner, result, best))
    return members


def _within(
    members: list[tuple[Learner, ResultRecord, Any]],
    arrays: tuple[tuple[Any, Any], ...],
    cap: float,
    maximize: bool,
) -> tuple[list[tuple[Learner, ResultRecord, Any]], tuple[tuple[Any, Any], ...]]:
    """The members whose saved models load and are written again within ``cap`` seconds: the
    largest left out first, the best on validation never. Loading is what costs (a 40 MiB forest
    2.3 s, automl.search.allocation.SECONDS_PER_MIB); an ensemble of the others beats none."""
    sign = 1.0 if maximize else -1.0
    top = max(range(len(members)), key=lambda i: sign * members[i][1].val_score)
    kept = list(range(len(members)))
    costs = {i: member_cost(members[i][1].model) for i in kept}
    while (needed := BLENDING + sum(costs[i] for i in kept)) > cap and len(kept) > 1:
        largest = max((i for i in kept if i != top), key=lambda i: costs[i])
        log.info(
            "the ensemble leaves out %s (%.1f s to load and write its model): its candidates "
            "need %.1f s, %.1f s are left", members[largest][0].exp.model, costs[largest], needed,
            cap,
        )  # fmt: skip
        kept.remove(largest)
    return [members[i] for i in kept], tuple(arrays[i] for i in kept)


def blend(
    learners: Sequence[Learner],
    results: dict[str, ResultRecord],
    fits: Runner,
    board: optuna.Study,
    folder: str,
    maximize: bool,
    clock: Clock,
) -> None:
    """Choose and score the ensemble of the learners' refitted bests; record it on ``board``."""
    members = _members(learners, results)
    if not members:
        board.set_user_attr(
            RESULT, ResultRecord(error="no learner has predictions to blend").stored()
        )
        return
    key = {one.study.study_name: best.number for one, _, best in members}
    previous = board.user_attrs.get(RESULT) or {}
    if previous.get("members") == key and "error" not in previous and previous.get("scored"):
        return  # the same members as the stored ensemble: nothing to redo
    try:
        arrays = tuple(
            (artifacts.load(folder, best.user_attrs[PREDICTIONS]),
             artifacts.load(folder, result.predictions))
            for _, result, best in members
        )  # fmt: skip
        fits.call(Open(members[0][0].exp))
        cap = max(clock.left() - clock.closing, SHORTEST)
        members, arrays = _within(members, arrays, cap, maximize)
        models = tuple(r.model for _, r, _ in members if r.model)
        save = str(model_path(folder, board.study_name)) if len(models) == len(members) else None
        chosen = fits.call(Blend(arrays, ensemble.SIZE, models, save, cap))
    except KeyboardInterrupt:
        raise
    except Exception as error:  # the learners' rows stand; the ensemble says why it has none
        reason = f"the ensemble failed: {type(error).__name__}: {error}"[:2000]
        log.warning(reason)
        board.set_user_attr(RESULT, ResultRecord(error=reason).stored())
        return
    sign = 1.0 if maximize else -1.0
    top = max(range(len(members)), key=lambda i: sign * members[i][1].val_score)
    weights = list(chosen.weights)
    val, test = chosen.val_score, chosen.test_score
    made = {"model": chosen.model, "importance": chosen.importance, "n_classes": chosen.n_classes,
            **evidence(folder, chosen, board)}  # fmt: skip
    # Better than its best member both as the leaderboard reports that member (the mean of its
    # folds' scores) and as the blend is measured (under repeated k-fold, on each row's mean over
    # the repeats, itself an average that would flatter any blend), or it is that member.
    if not (sign * val > sign * members[top][1].val_score
            and sign * val > sign * chosen.member_scores[top]):  # fmt: skip
        weights = [1.0 if i == top else 0.0 for i in range(len(members))]
        val, test = members[top][1].val_score, members[top][1].test_score
        kept = ("model", "importance", "artifacts", "predictions", "scored", "truth", "n_classes",
                "val_predictions", "val_truth")  # fmt: skip
        made = {k: getattr(members[top][1], k) for k in kept}
    used = [(m, w) for m, w in zip(members, weights, strict=True) if w > 0]
    record = ResultRecord(
        **made,
        params={m[0].exp.model: round(w, 4) for m, w in used},
        val_score=val,
        test_score=test,
        fit_time=sum(m[1].fit_time or 0.0 for m, _ in used),
        predict_time=sum(m[1].predict_time or 0.0 for m, _ in used),
        device=", ".join(sorted({m[1].device or "cpu" for m, _ in used})),
        # Of bags where every member is one (nothing refitted), else of refits.
        final="bag" if all(m[1].final == "bag" for m, _ in used) else "refit",
    )
    board.set_user_attr(RESULT, {**record.stored(), "members": key})
