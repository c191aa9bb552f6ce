"""`python -m certledger …`: the command line, for when the console script is not on PATH (tests, benchmarks)."""

import sys

from certledger.cli import main

sys.exit(main(sys.argv[1:]))
