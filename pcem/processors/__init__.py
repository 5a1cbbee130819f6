"""The notification process manager's home.

It will hold the ledger, the scheduler's sweep and the delivery worker (Celery
tasks as thin shells over plain functions). What is here so far is what the
worker calls to send: the wording of a reminder (``wording``) and one provider
per channel behind one interface (``providers``).
"""
