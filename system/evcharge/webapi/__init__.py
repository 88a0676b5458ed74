"""The small authenticated JSON-over-HTTP(S) servers the network runs: the driver's local API and
the CP registry. One guard (``guard``: token, Host, Origin, JSON, size) and one request loop
(``server``: routes, errors as JSON, refusals audited, TLS), so both answer and refuse alike."""
