"""The ``automl`` command's Hydra callbacks: passwords masked in every file and log line a run
leaves (``RedactSecrets``, ``redact_log_records``), and the leaderboards of a run or sweep built
from the storage once every job has ended (``WriteLeaderboards``), from the record each job leaves.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from automl.plugin.errors import UserError
from automl.storage.urls import default_url, open_storage, redact
from automl.views import leaderboard
from automl.views.publish import publish, summary

RESULT_FILE = "result.json"  # what each job leaves beside its outputs: its studies, or its error


class RedactSecrets(Callback):
    """Hydra saves each job's command line and config (``.hydra/``, ``multirun.yaml``) before the
    job starts: mask any password in them, so that a storage URL given on the command line stays
    out of every file the run leaves."""

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        hydra_cfg = HydraConfig.get()
        files = list(Path(hydra_cfg.runtime.output_dir).glob(".hydra/*.yaml"))
        if hydra_cfg.mode is not None and hydra_cfg.mode.name == "MULTIRUN":
            files.append(Path(hydra_cfg.sweep.dir) / "multirun.yaml")
        for path in files:
            if path.is_file():
                text = path.read_text()
                if redact(text) != text:
                    path.write_text(redact(text))


def redact_log_records() -> None:
    """Mask passwords in every log line of this process (Hydra's launchers log each job's
    overrides); installed as the record factory, so it outlives Hydra's logging setup."""
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        message = record.getMessage()
        if "://" in message:
            record.msg, record.args = redact(message), None
        return record

    logging.setLogRecordFactory(factory)


class WriteLeaderboards(Callback):
    """Builds the leaderboards of a run or sweep from the storage, once every job has finished."""

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._finish(config, [Path(config.hydra.run.dir) / RESULT_FILE])

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._finish(config, sorted(Path(config.hydra.sweep.dir).glob(f"*/{RESULT_FILE}")))

    def _finish(self, cfg: DictConfig, files: list[Path]) -> None:
        if self.write(cfg, files):
            sys.exit(2)

    def write(self, cfg: DictConfig, files: list[Path]) -> int:
        """Write the leaderboards; report skipped and failed jobs; return how many failed."""
        # Hydra turns a callback's exception into a warning and exits 0; a lost leaderboard must not
        # look like success, so report it here and exit non-zero.
        try:
            return self._write(cfg, files)
        except UserError as error:
            print(f"automl: error: {error}", file=sys.stderr)
            sys.exit(2)
        except Exception:
            traceback.print_exc()
            print(
                "automl: error: writing the leaderboards failed (trials are safe in the storage)",
                file=sys.stderr,
            )
            sys.exit(1)

    def _write(self, cfg: DictConfig, files: list[Path]) -> int:
        records = [json.loads(f.read_text()) for f in files if f.is_file()]
        studies = [r["study"] for r in records if "study" in r]
        studies += [s for r in records for s in r.get("studies", [])]
        errors = [r["error"] for r in records if "error" in r]
        if studies:
            url = cfg.storage or default_url(cfg.output_dir)
            frame = leaderboard.rows(open_storage(url), studies, leaderboard.home(url))
            paths = publish(frame, cfg.leaderboard.dir, redact(url), printed=cfg.leaderboard.show)
            print(summary(paths))
        skipped = [r["skipped"] for r in records if "skipped" in r]
        skipped += [s for r in records for s in r.get("not_applicable", [])]
        if skipped:
            print(f"{len(skipped)} of {len(records)} jobs skipped (the model does not apply):")
            for reason in skipped:
                print(f"  {reason}")
        if errors and len(records) > 1:  # a single job's error is already the line above
            print(f"automl: {len(errors)} of {len(records)} jobs failed:", file=sys.stderr)
            for error in errors:
                print(f"  {error}", file=sys.stderr)
        return len(errors)
