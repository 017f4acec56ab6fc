"""OpenML datasets and tasks through the ``openml`` package.

``dataset.dataset_id=N`` loads a dataset with its default target (``dataset.target`` overrides);
``dataset.task_id=N`` loads a task with its target and OpenML's own train/test split
(``dataset.fold``). Offline, ``dataset.cache`` names an openml cache folder (the tests use a copy of
tests/data/openml, with ``dataset.server`` set to the test server whose layout it has).
"""

from __future__ import annotations

from typing import Any

from automl import Data, UserError


def _configure(cache: str | None, server: str | None) -> Any:
    try:
        import openml
    except ImportError:
        raise UserError("OpenML datasets need the 'openml' package: pip install openml") from None
    if cache:
        openml.config.set_root_cache_directory(cache)
    if server:
        openml.config.server = server
    return openml


def load_openml(
    dataset_id: int | None = None,
    task_id: int | None = None,
    target: str | None = None,
    fold: int = 0,
    cache: str | None = None,
    server: str | None = None,
) -> Data:
    if (dataset_id is None) == (task_id is None):
        raise UserError("give one of dataset.dataset_id=N or dataset.task_id=N")
    openml = _configure(cache, server)
    try:
        if task_id is not None:
            task = openml.tasks.get_task(task_id, download_splits=True)
            dataset = task.get_dataset()
            target = task.target_name
            X, y, _, _ = dataset.get_data(target=target)
            train, test = task.get_train_test_split_indices(fold=fold)
            return Data(X=X.iloc[train].reset_index(drop=True), y=y.iloc[train].to_numpy(),
                        X_test=X.iloc[test].reset_index(drop=True), y_test=y.iloc[test].to_numpy(),
                        name=f"{dataset.name}-task{task_id}")  # fmt: skip
        dataset = openml.datasets.get_dataset(
            dataset_id, download_data=True, download_qualities=False,
            download_features_meta_data=True,
        )  # fmt: skip
        target = target or dataset.default_target_attribute
        if not target:
            raise UserError(
                f"OpenML dataset {dataset_id} has no default target; set dataset.target"
            )
        X, y, _, _ = dataset.get_data(target=target)
    except UserError:
        raise
    except Exception as error:  # openml raises server, network and cache errors of many types
        what = f"task {task_id}" if task_id is not None else f"dataset {dataset_id}"
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"cannot load OpenML {what}: {message}") from None
    return Data(X=X, y=y.to_numpy(), name=dataset.name)
