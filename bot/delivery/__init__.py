"""Delivery: the durable outbox and the rate-limited sender that drains it.

Messages are rows of `outboxmessage`, enqueued (`bot.storage.outbox.enqueue`) in the same
transaction as the change that causes them, so a message exists exactly when its cause does.
`bot.delivery.sender.Sender` claims due rows under a lease, paces sends within Telegram's
limits (`bot.delivery.limits`), and commits each outcome as soon as Telegram answers.

Delivery is at least once, and the duplicates are bounded. A row is marked `sent` in its own
transaction right after Telegram accepts it, and the sender holds at most `send_concurrency`
sends between "request started" and "`sent` committed". If the process dies (SIGKILL, power
loss), every row it had claimed stays `sending` until its lease (`send_lease_s`, 6 s: a live
sender renews its leases three times per period) ends, or until the instance starts again (a
lease names its holder, `bot.delivery.leases`, and a restarted instance takes back its previous
run's rows at once); then it is queued again and sent by the next sender. Rows that had not
reached Telegram are sent once, as they should be. A message Telegram had already accepted but
whose `sent` mark was not yet committed is sent a second time: that is the only source of
duplicates, so a crash costs **at most one duplicate per message in flight, i.e. at most
`send_concurrency` duplicates**, and none for any message whose `sent` mark was committed.
Nothing is lost: no row leaves `sending` except to `sent`, `queued`, `failed` or `skipped`, and
an expired lease always returns it to `queued`. The same holds for a send that times out:
Telegram may have delivered it, and the retry may then duplicate it (the Bot API offers no
idempotency key).

A database outage costs no duplicate: the first claim, commit or renewal that fails opens the
sender's circuit breaker (`bot.delivery.breaker`), which stops claiming and sending; outcomes
that could not be recorded are held, with their send slots, and recorded once the database
answers a probe again. Only a sender stopped during the outage leaves them to their leases.
"""
