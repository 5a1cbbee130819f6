"""Contact imports: a file a user sends, made into people by ordinary commands.

``jobs`` keeps each import's row (its file while it runs, its counts, the outbox
message that starts it, the session lock one run holds); ``run`` is the worker's
part: it reads the file (``pcem.contacts``), recognises each contact again and
creates or changes people, their yearly dates and their relationships through the
applications in ``pcem.commands``, in batches, resuming where a killed run stopped;
``view`` answers the user's reads of their imports.
"""
