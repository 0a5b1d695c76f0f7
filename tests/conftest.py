"""Shared test configuration.

CI runs hypothesis derandomized (the same examples every run), so a submission's result
does not depend on which random examples a run happens to draw; locally each run
explores new examples.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
