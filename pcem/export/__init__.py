"""Everything a user gave PCEM, streamed out of one snapshot: JSON (all of it, with
every record's history), vCard 4.0 (the live people) and iCalendar (the live events).

Over the read models and the event store's histories (so above both in the layers):
``exports`` opens the snapshot and picks the format; ``as_json``, ``as_vcard`` and
``as_icalendar`` write it, a batch of rows at a time; ``histories`` reads and decodes
the stored events of a batch; ``document`` is the JSON's shape.
"""
