"""`python -m jobs ...` and `spark-submit .../jobs/__main__.py ...`: the same as the `radar` script."""

import sys

from jobs.cli import main

sys.exit(main())
