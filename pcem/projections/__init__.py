"""Read models: projections of the event store into user-scoped tables, and the views
that query them.

- The pattern: ``base`` (a ``Projection``: singledispatch handlers, the tables it
  owns) and ``writes`` (how a handler writes: pipelined statements, change sets).
- The read models: ``people`` (people, relationships), ``calendar`` (events,
  occurrences, settings; its window in ``horizon``), ``schedule`` (the reminders),
  applied together as ``people_and_dates``.
- Their views, as the API reads them: ``people_view``, ``relationships_view``,
  ``calendar_view``.
- ``catalog``: every projection the engine runs, by name.

The engine that runs them (follow, batch, track, rebuild, verify) is
``pcem.projector``; nothing here imports it.
"""
