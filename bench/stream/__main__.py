"""`python -m bench.stream`: how long from an event put on Kinesis to its row in the marts."""

import sys

from bench.stream.latency import main

sys.exit(main())
