"""``python -m chunkfold``."""

import sys

from chunkfold.cli import main

sys.exit(main())
