"""Contacts as other address books write them, and as PCEM writes them back.

Pure code, no I/O: ``model`` is what one contact of a file means to PCEM (the
person's fields, readable metadata, dates, relations); the readers turn vCard
2.1/3.0/4.0 and Google's and Outlook's CSV exports into it; the writer turns a
person back into a vCard 4.0. The import job (``pcem.commands.imports``) and the
export (``pcem.export``) are the only callers.
"""
