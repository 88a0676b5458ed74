"""A self-signed certificate for a server that was given none (made once with ``openssl``).

The registry must speak HTTPS even on one machine (keys cross the connection); an operator with a
real certificate passes it, and everybody else gets one made here, for the names the server answers
to, whose file is also the CA its clients pin (``--ca``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

DAYS = 825
"""The longest validity clients accept for a self-signed server certificate."""


def ensure_self_signed(cert: Path, key: Path, host: str) -> None:
    """Make ``cert``/``key`` for ``host`` (and localhost, 127.0.0.1) unless both exist already."""
    if cert.exists() and key.exists():
        return
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("no certificate given and no openssl to make one: install openssl, or pass "
                                "--tls-cert and --tls-key")
    cert.parent.mkdir(parents=True, exist_ok=True)
    names = sorted({"DNS:localhost", "IP:127.0.0.1", f"{'IP' if host[:1].isdigit() or ':' in host else 'DNS'}:{host}"})
    result = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", str(DAYS), "-subj", "/CN=evcharge",
         "-addext", "subjectAltName=" + ",".join(names)],
        capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl could not make a certificate: {result.stderr.strip()[-500:]}")
    key.chmod(0o600)
