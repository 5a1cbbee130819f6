"""Erasure: purging a person, erasing an account, and what acts on their tombstones.

A tombstone (``Person.Purged``, ``CalendarEvent.PurgedWithPerson``,
``UserSettings.AccountErased``) is written first; the subjects' keys are destroyed
right after, in the same command; the read models drop their rows when they apply
the tombstone (``pcem.projections``), and ``follower`` acts on it everywhere else
(keys again, the ledger, idempotency records), so a command that died halfway still
converges. docs/privacy.md, "Purge and account erasure".
"""
