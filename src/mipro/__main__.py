"""``python -m mipro``: the ``mipro`` command."""

import sys

from mipro.cli import main

sys.exit(main())
