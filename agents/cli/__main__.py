"""``python -m agents.cli COMMAND``: the ``distillwatch`` command without the installed script
(tests and the demo start workers as ``python -m agents.cli worker``)."""

import sys

from agents.cli import main

sys.exit(main())
