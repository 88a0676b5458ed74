"""Infrastructure: what runs beside the system under test.

The pinned versions and their installer, the Kafka broker and its wire protocol, the per-role proxy
topology, the Toxiproxy client and server, the one process lifecycle (``service``), and the
backends (local processes, Docker, an external cluster) that put them together.
"""
