"""`python -m grader` is the same as the `dlgrade` console script."""

import sys

from grader.cli import main

sys.exit(main())
