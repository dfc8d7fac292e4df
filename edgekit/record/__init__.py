"""Stage 6: record. Every bench and eval result goes to an embedded SQLite store
(``store``) with the fingerprint of the machine it ran on (``environment``).

Device side: standard library only.
"""
