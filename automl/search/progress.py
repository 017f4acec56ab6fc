"""A live progress line per study: trials done, best so far, search time left."""

from __future__ import annotations

from tqdm import tqdm


class Progress:
    """A tqdm bar that shows the study as the storage has it: with several workers on one study,
    every worker's trials count."""

    def __init__(self, *, label: str, total: int, enabled: bool = True) -> None:
        self._bar = tqdm(total=total, desc=label, unit="trial", disable=not enabled)

    def show(self, done: int, best: float | None, left: float | None) -> None:
        """``done`` trials counted, the best value so far, and seconds of search left (None: no
        time budget)."""
        postfix = {"best": "-" if best is None else f"{best:.4g}"}
        if left is not None:
            postfix["time left"] = f"{max(0.0, left):.0f}s"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        self._bar.close()
