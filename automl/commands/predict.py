"""``automl-predict``: the saved winner (or any saved row's model) predicting new rows, without the
storage: ``automl-predict --model PATH --data new.csv [--out predictions.csv] [--proba]``, and
``--explain`` for why it wins (its importances on the test split, saved with it)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from automl.fitting import model_file
from automl.plugin.errors import UserError

READERS = {
    ".csv": pd.read_csv,
    ".parquet": pd.read_parquet,
    ".tsv": lambda p: pd.read_csv(p, sep="\t"),
}


def read(path: str) -> pd.DataFrame:
    """New rows from a file, by its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in READERS:
        raise UserError(
            f"--data {path}: unknown file type '{suffix}'; accepted: {', '.join(READERS)}"
        )
    if not Path(path).is_file():
        raise UserError(f"--data {path} does not exist")
    try:
        return READERS[suffix](path)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise UserError(f"--data {path} could not be read: {str(error).splitlines()[0]}") from None


def predictions(model: Any, frame: pd.DataFrame, proba: bool) -> pd.DataFrame:
    """One row per input row: the prediction, and with ``proba`` each class's probability."""
    out = pd.DataFrame({"prediction": model.predict(frame)}, index=frame.index)
    if proba:
        if model.classes is None:
            raise UserError("--proba: this model is a regression model; it gives no probabilities")
        values = model.predict_proba(frame)
        for i, label in enumerate(model.classes_):
            out[f"proba_{label}"] = values[:, i]
    return out


def explanation(about: dict[str, Any]) -> str:
    """The importances saved with a model, as a table, most important first."""
    found = about.get("importance") or {}
    permutation, native = found.get("permutation") or {}, found.get("native") or {}
    lines = [
        f"{about.get('model')} on {about.get('dataset')}: test {about.get('metric')} "
        f"{about.get('test_score', float('nan')):.4f} on {about.get('test_rows', '?')} rows"
    ]
    if not permutation and not native:
        return "\n".join(
            [*lines, found.get("skipped", "no importances were saved with this model")]
        )
    names = sorted(set(permutation) | set(native), key=lambda n: -permutation.get(n, [0.0])[0])
    table = pd.DataFrame(
        {
            "column": names,
            "permutation_mean": [permutation.get(n, [float("nan")] * 2)[0] for n in names],
            "permutation_std": [permutation.get(n, [float("nan")] * 2)[1] for n in names],
            **({"own_importance": [native.get(n, float("nan")) for n in names]} if native else {}),
        }
    )
    lines.append(
        "permutation importance: the score lost when the column is shuffled "
        f"(mean and std over {found.get('repeats', '?')} repeats)"
        + ("; own_importance: the learner's own, summing to 1" if native else "")
    )
    if found.get("skipped"):
        lines.append(found["skipped"])
    return "\n".join([*lines, table.to_string(index=False, float_format=lambda v: f"{v:.4f}")])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="automl-predict", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a saved model (results/models/*.model)")
    parser.add_argument("--data", help="new rows: .csv, .tsv or .parquet, the training columns")
    parser.add_argument("--out", help="write predictions here as CSV (default: standard output)")
    parser.add_argument("--proba", action="store_true", help="add each class's probability")
    parser.add_argument("--explain", action="store_true", help="print why it wins")
    parser.add_argument("--json", action="store_true", help="--explain as JSON")
    args = parser.parse_args(argv)
    try:
        if args.data is None and not args.explain:
            raise UserError("give --data FILE to predict, or --explain")
        about = model_file.header(args.model)
        for note in model_file.differences(about):
            print(f"automl-predict: note: {note}", file=sys.stderr)
        if args.explain:
            text = json.dumps(about.get("importance") or {}, indent=1) if args.json else None
            print(text or explanation(about))
        if args.data is not None:
            frame = read(args.data)  # read (and checked) before the model is unpickled
            out = predictions(model_file.load(args.model), frame, args.proba)
            if args.out:
                out.to_csv(args.out, index=False)
                print(f"predictions: {args.out} ({len(out)} rows)", file=sys.stderr)
            else:
                out.to_csv(sys.stdout, index=False)
    except UserError as error:
        print(f"automl-predict: error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
