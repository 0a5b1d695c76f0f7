"""``python -m dualtape.harness list|run NAME|plot NAME|reproduce [--quick|--full]``."""

import sys

from .cli import main

sys.exit(main())
