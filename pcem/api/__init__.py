"""The HTTP API: thin Litestar controllers over the applications and read models."""
