"""Central: the one owner of the database of charging points, drivers, reservations and sessions.

- ``schema``: the database's tables, indexes, in-place upgrades and row types.
- ``store``: the atomic operations on it, and the pruning of what grows with traffic (no Kafka).
- ``handlers``: what each message does to the store and which messages it sends back (no Kafka),
  and the sweeps that bound every state (reservation TTL, heartbeat and telemetry timeouts, the
  stop grace of a session Central stopped).
- ``effects``: Central's config and the effects every path shares (release, stop order, ticket).
- ``processor``: turns raw records into handler calls with dedup, savepoints and dead letters (and
  builds the dead letter of a reply Kafka will never take).
- ``service``: the Kafka loop (poll a batch, one transaction, commit offsets, send) and the sweepers.
- ``checkpoint``: WAL checkpoints on a thread of their own, off the loop's path.
- ``ids``: the cheap random ids Central mints for its replies, reservations, sessions and tickets.
"""
