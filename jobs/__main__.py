"""`python -m jobs ...` and `spark-submit .../jobs/__main__.py ...`: the same as the `radar` script."""

import os
import sys

# spark-submit puts the script's own folder (jobs/) first on sys.path, where jobs/features.py
# would shadow the `features` package: keep only the project's top level importable.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

from jobs.cli import main  # noqa: E402

sys.exit(main())
