"""`python -m sethlab` runs the command line."""

import sys

from sethlab.cli import main

sys.exit(main())
