"""`python -m bench.collect`: the collector's load figures, or one load with `--url`."""

import sys

from bench.collect.levels import main

sys.exit(main())
