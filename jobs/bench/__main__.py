"""`python -m jobs.bench`: the benchmark of jobs/bench/run.py."""

import sys

from jobs.bench.run import main

sys.exit(main())
