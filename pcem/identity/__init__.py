"""Who is calling: bearer tokens verified into a Principal; how fast they may call."""
