"""The notification process manager at work: Celery tasks as thin shells over plain
functions (``tasks``), the scheduler's tick (``ticks``), the outbox relay (``relay``),
a delivery (``delivery``) and one provider per channel behind one interface
(``providers``). Its durable state — the ledger, outbox, claims and inbox — is
``pcem.notifications``, below it; the wording of a reminder is domain code
(``pcem.aggregates.wording``).
"""
