"""``automl-plugins``: the plugins found, with their packages and what each registers."""

from __future__ import annotations

import logging
import os

from automl.plugin.manager import DISABLE_ENV, describe


def main() -> None:
    """``automl-plugins``: list the plugins found, with their packages and what each registers."""
    import pandas as pd

    logging.basicConfig(format="automl-plugins: %(message)s")
    rows = describe()
    print(pd.DataFrame(rows).to_markdown(index=False))
    disabled = os.environ.get(DISABLE_ENV)
    if disabled:
        print(f"\ndisabled by {DISABLE_ENV}: {disabled}")


if __name__ == "__main__":
    main()
