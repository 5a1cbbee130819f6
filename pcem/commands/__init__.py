"""Command handlers: load an aggregate, call a domain method, save, return."""
