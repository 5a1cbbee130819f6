"""PostgreSQL plumbing that several layers share, below all of them: what names a
connection (``connections``) and how a statement runs for one user behind the second
wall (``row_security``). It knows no read model, command or route."""
