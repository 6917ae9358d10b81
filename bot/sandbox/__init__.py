"""Local sandbox tooling: a Telegram Bot API emulator and helpers built on it."""
