"""Read models: projections of the event store into user-scoped tables."""
