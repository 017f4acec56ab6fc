"""The one exception type for mistakes a user can fix (bad names, paths, ranges, columns)."""

from __future__ import annotations

import difflib


class UserError(Exception):
    """A problem with the user's input: the CLI prints its message on one line and exits non-zero.

    The message says what was wrong and what is accepted; it never needs a traceback to be understood.
    """


def choose(kind: str, name: str, available: list[str] | tuple[str, ...]) -> UserError:
    """An error for an unknown ``name`` of some ``kind`` that lists what is accepted, and the closest
    of them when one is close."""
    names = sorted(str(a) for a in available)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return UserError(f"unknown {kind} '{name}'; available: {', '.join(names)}{hint}")


class NotApplicable(UserError):
    """A model that cannot take a dataset (its task, modality or size): an error when asked for
    directly, a skipped job in a suite (``skip_inapplicable=true``)."""
