"""The engine that runs the read models of ``pcem.projections``: follow the event store
(``runner``), apply it in batches with the position in the same transaction
(``batches``, ``tracking``), stop one projection on an event it cannot apply
(``failures``), one holder per projection (``locks``), rebuild aside and swap
(``shadow``, ``rebuild``, ``rebuild_worker``), compare with a fresh build
(``verify``), move the occurrence horizon (``horizon_keeper``), all started by
``supervisor`` (``pcem projector``).

It imports the read models; they never import it. Adding a read model needs no
change here beyond naming it in ``pcem.projections.catalog``.
"""
