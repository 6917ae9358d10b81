"""Pure domain rules: no aiogram, no SQLModel, no I/O."""
