"""``python -m complaint_engine …``: see complaint_engine.cli."""

from complaint_engine.cli import main

raise SystemExit(main())
