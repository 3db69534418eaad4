"""Hypothesis profiles. "ci" runs each property test's full example count (`bash tests/run.sh`, CI); "dev" an eighth
of it, at least 5 (`bash tests/run.sh fast`, a bare `pytest`): the loop a developer runs after each change.
HYPOTHESIS_PROFILE chooses; unset, CI=true means "ci"."""
from __future__ import annotations

import os

from hypothesis import settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.register_profile("ci", deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """A property test's example count in the profile loaded: `n` in "ci", an eighth (at least 5) in "dev"."""
    return n if PROFILE == "ci" else max(5, n // 8)
