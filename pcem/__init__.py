"""PCEM: People Connection & Event Manager."""
