"""``python -m ksql``."""

import sys

from ksql.cli import main

sys.exit(main())
