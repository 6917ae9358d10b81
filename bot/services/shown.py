"""Whether typed text answers the question the member saw (an answer applies only to the
question shown), read from the outbox and from what this instance's sender just showed."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.shown import ShownMessages
from bot.storage import repo
from bot.storage.models import FlowRun, OutboxStatus


class QuestionInFlight(Exception):
    """Typed text may answer a question whose message is being sent (by another instance, or
    here before Telegram answered): whether the member saw it is known once the send's outcome
    is recorded. Nothing was
    applied; the update is tried again shortly (`bot.telegram.attempts`)."""

    def __init__(self, run_id: int) -> None:
        super().__init__(f"the open question of run {run_id} is being sent")


async def typed_before_shown(
    session: AsyncSession, shown: ShownMessages, message_id: int | None, run: FlowRun
) -> bool:
    """Whether text typed as chat message `message_id` was sent before the run's open question
    was shown. A private chat numbers both sides' messages in one sequence (a retype overtaken
    by its original, say); a question still queued (the database was down, say) was not shown
    at all; one being sent is compared with the id Telegram gave it here, else the update waits
    until its outcome is recorded."""
    assert run.id is not None
    waiting = await repo.question_in_outbox(session, run_id=run.id)
    if waiting is None:
        return _before(message_id, run.prompt_message_id)
    row_id, status = waiting
    if status == OutboxStatus.QUEUED:
        return True
    sent_as = shown.message_id(row_id)
    if sent_as is None:
        raise QuestionInFlight(run.id)
    return _before(message_id, sent_as)


def _before(message_id: int | None, shown: int | None) -> bool:
    return message_id is not None and shown is not None and message_id < shown
