"""What this instance's sender has shown that the database does not say yet.

A row stays `sending` from its lease until its outcome commits, which under load can take
seconds after Telegram accepted it. A member who answers the question it asked meanwhile must
not wait for that commit: the message id Telegram gave it is kept here from the send until the
outcome is committed (or lost), and typed text is compared with it.
"""

from __future__ import annotations


class ShownMessages:
    """Telegram message ids of rows sent here whose outcome is not committed yet, by row id."""

    def __init__(self) -> None:
        self._ids: dict[int, int] = {}

    def sent(self, row_id: int, message_id: int) -> None:
        self._ids[row_id] = message_id

    def settled(self, row_id: int) -> None:
        """The row's outcome is committed (or will not be): the database says it now."""
        self._ids.pop(row_id, None)

    def message_id(self, row_id: int) -> int | None:
        return self._ids.get(row_id)
