"""The registry as a user runs it: ``evcharge registry serve`` as a real process over HTTPS with
its self-signed certificate, called by ``evcharge registry enroll|rotate|revoke|list`` processes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evcharge.auth.claims import principal_of
from evcharge.auth.keys import read_key
from evcharge.auth.seal import seal, verify
from evcharge.registry.store import RegistryView

pytestmark = pytest.mark.timeout(60)


def evcharge(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "evcharge.cli", *args], capture_output=True, text=True, timeout=30)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A registry serving on a free port; (its URL, the work folder)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "evcharge.cli", "registry", "serve", "--db", str(tmp_path / "registry.db"),
         "--port", "0", "--token-file", str(tmp_path / "operator.token"), "--audit-log", str(tmp_path / "audit"),
         "--audit-key-file", str(tmp_path / "audit.key")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, line = time.monotonic() + 30, ""
        while time.monotonic() < deadline and "listening" not in line:
            line = server.stdout.readline()  # type: ignore[union-attr]
            if not line and server.poll() is not None:
                pytest.fail(f"the registry exited: {server.stderr.read()}")  # type: ignore[union-attr]
        match = re.search(r"https://127\.0\.0\.1:(\d+)", line)
        assert match, f"no URL in {line!r}"
        yield match.group(0), tmp_path
    finally:
        server.terminate()
        server.wait(10)


def client(url: str, folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return evcharge("registry", *args, "--url", url, "--ca", str(folder / "registry-cert.pem"),
                    "--token-file", str(folder / "operator.token"), check=check)


def test_a_cp_is_enrolled_rotated_and_revoked_over_https_and_central_sees_each_step(registry):
    url, folder = registry
    client(url, folder, "enroll", "cp", "CP_001", "--key-out", str(folder / "cp.key"))
    first = read_key(folder / "cp.key")
    view = RegistryView(folder / "registry.db")
    cp = principal_of("engine:CP_001")
    assert view.keys(cp) == (first,)
    again = client(url, folder, "enroll", "cp", "CP_001", "--key-out", str(folder / "other.key"), check=False)
    assert again.returncode == 1 and "refused (409)" in again.stderr and "rotate its key instead" in again.stderr
    client(url, folder, "rotate", "cp", "CP_001", "--key-out", str(folder / "cp.key"))
    second = read_key(folder / "cp.key")
    assert second != first and view.keys(cp) == (second, first)
    listed = json.loads(client(url, folder, "list").stdout)
    assert [(p["kind"], p["id"], p["status"]) for p in listed] == [("cp", "CP_001", "active")]
    assert "key" not in listed[0]
    client(url, folder, "revoke", "cp", "CP_001")
    assert view.keys(cp) == ()
    assert not verify(seal(b'{"mac":null}', second), view.keys(cp))
    actions = [json.loads(line)["action"] for line in (folder / "audit").read_text().splitlines()]
    assert actions == ["enroll", "enroll", "rotate", "revoke"]


def test_a_wrong_token_or_an_untrusted_certificate_is_refused_with_the_reason(registry):
    url, folder = registry
    (folder / "wrong.token").write_text("not-the-token\n")
    done = evcharge("registry", "list", "--url", url, "--ca", str(folder / "registry-cert.pem"),
                    "--token-file", str(folder / "wrong.token"), check=False)
    assert done.returncode == 1 and "refused (401)" in done.stderr and "wrong token" in done.stderr
    untrusted = evcharge("registry", "list", "--url", url, "--token-file", str(folder / "operator.token"),
                         check=False)  # the system CAs do not know the self-signed certificate
    assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    plain = evcharge("registry", "list", "--url", url.replace("https", "http"), "--token-file",
                     str(folder / "operator.token"), check=False)
    assert plain.returncode == 1 and "must be https" in plain.stderr
    assert '"outcome": "refused"' in (folder / "audit").read_text()
