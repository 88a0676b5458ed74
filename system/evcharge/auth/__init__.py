"""Who sent a message, proven: every record carries an HMAC under its sender's key, and every
receiver checks it, and checks that the sender may say what the message says.

The pieces, one job each:

- ``seal``: the MAC's place on the wire. It is the envelope's last member, ``"mac":"<hex>"``, and it
  covers the record's exact bytes with that value written as ``null``: no canonical re-encoding on
  either side (a float printed differently cannot break it), and one HMAC-SHA256 per record.
- ``claims``: who may send which message type, and which payload field must name the sender
  (a driver's requests name that driver, an engine's readings that CP; everything else comes from
  Central). A valid MAC for the wrong claim is a forgery all the same.
- ``keys``: where keys live. A component reads its one key from a file (mode 0600, written by
  ``evcharge registry enroll``); Central reads every key from the registry's database, so a key
  rotated or revoked there counts from Central's next batch.
- ``gate``: the check a consumer runs on each record, and the audit record of each refusal.

Keys are symmetric and per principal: a CP's engine and monitor share their CP's key, a driver has
its own, Central has one for what only it reads (its clock ticks). Central signs what it sends a CP
or a driver with *that* principal's key, so a CP that knows its own key cannot speak as Central to
anybody else. Replays cannot change a MAC'd id or timestamp: Central's processed ids and the
engines' supplied sessions refuse the same message twice, the timestamp window (``wire``) an old one.
"""
