"""The notification ledger and outbox: the process manager's durable state.

Below both entry points that use it: the process manager (``pcem.processors``)
writes it; the API reads the inbox and the failed set from it.
"""
