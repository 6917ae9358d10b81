"""`python -m bot` is the `partnerbot` command."""

from bot.cli import main

raise SystemExit(main())
