"""`python -m bot.sandbox.emulator`: the emulator standalone (see server.main)."""

from bot.sandbox.emulator.server import main

main()
