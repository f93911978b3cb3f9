"""`python -m sync`."""

from sync.cli.app import main

raise SystemExit(main())
