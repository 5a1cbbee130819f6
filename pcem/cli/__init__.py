"""The `pcem` command line."""
