"""Central: the one owner of the database of charging points, drivers, reservations and sessions.

- ``store``: SQLite schema and the atomic operations on it (no Kafka).
- ``handlers``: what each message does to the store and which messages it sends back (no Kafka).
- ``processor``: turns raw records into handler calls with dedup, savepoints and dead letters.
- ``service``: the Kafka loop (poll a batch, one transaction, commit offsets, send) and the sweepers.
- ``checkpoint``: WAL checkpoints on a thread of their own, off the loop's path.
- ``ids``: the cheap random ids Central mints for its replies, reservations, sessions and tickets.
"""
