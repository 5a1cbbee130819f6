"""Who is calling: bearer tokens verified into a Principal."""
