"""The registry of the network's principals (the original statement's EV_Registry): CPs, drivers
and operators are enrolled here and get their key; keys are rotated and revoked here.

- ``store``: the SQLite database, the only place keys are kept; ``RegistryView`` is Central's
  read-only view of it, which sees every change at its next lookup (``PRAGMA data_version``).
- ``server``: the REST API over HTTPS (``evcharge registry serve``), for an operator's token.
- ``client``: the same API from the command line (``evcharge registry enroll|rotate|revoke|list``).
"""
