"""The event store: how PCEM configures eventsourcing's PostgreSQL persistence."""
