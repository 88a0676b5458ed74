"""The driver API's guard over a real socket: each rule refuses what it is for, and records it.

Requests are written with ``http.client`` so that every header is the test's choice, as a browser's
or an attacker's would be (urllib would add its own Host and Content-Type).
"""

from __future__ import annotations

import http.client
import json
import shutil
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evcharge.audit import AuditLog, verify
from evcharge.driver.api import Access, check_exposure, serve_in_background
from evcharge.driver.core import Driver, DriverConfig
from evcharge.webapi.guard import MAX_BODY, load_token

from .fakes import FAST, FakeBroker, fake_producer

TOKEN = "s3cret-token"
JSON = "application/json"


class Api:
    def __init__(self, port: int, audit: Path) -> None:
        self.port, self.audit = port, audit

    def send(self, method: str, path: str, body: bytes | None = None, **headers: str) -> tuple[int, Any, dict]:
        """One request with exactly these headers (``Host`` defaults to the API's own address)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        headers.setdefault("Host", f"127.0.0.1:{self.port}")
        for name, value in headers.items():
            conn.putheader(name.replace("_", "-"), value)
        conn.endheaders(body)
        response = conn.getresponse()
        payload = json.loads(response.read())
        conn.close()
        return response.status, payload, dict(response.getheaders())

    def authorized(self, method: str, path: str, body: object = None, **headers: str) -> tuple[int, Any, dict]:
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            headers.setdefault("Content_Type", JSON)
            headers.setdefault("Content_Length", str(len(data)))
        return self.send(method, path, data, Authorization=f"Bearer {TOKEN}", **headers)

    def requests_made(self) -> list[Any]:
        status, requests, _ = self.authorized("GET", "/requests")
        assert status == 200
        return list(requests)

    def refusals(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.read_text().splitlines()] if self.audit.exists() else []


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    driver = Driver(DriverConfig("D1", cp_list_timeout=0.2), FAST, producer=fake_producer(FakeBroker()))
    audit = AuditLog(tmp_path / "driver.audit", "driver-D1")
    served = serve_in_background(driver, "127.0.0.1", 0, Access(TOKEN, "the token file", audit=audit))
    yield Api(served.port, tmp_path / "driver.audit")
    served.close()
    audit.close()


def charge_body() -> bytes:
    return json.dumps({"cp_id": "CP_001", "duration_s": 5}).encode()


def test_a_request_with_the_token_works_and_health_needs_none(api: Api):
    status, created, _ = api.authorized("POST", "/charge", {"cp_id": "CP_001", "duration_s": 5})
    assert status == 202 and created["state"] == "pending"
    assert api.send("GET", "/health")[0] == 200
    assert api.refusals() == []


@pytest.mark.parametrize("authorization, said", [
    (None, "missing token"), ("Bearer wrong-token", "wrong token"), (f"Basic {TOKEN}", "missing token"),
])
def test_no_or_a_wrong_token_is_refused_and_recorded(api: Api, authorization: str | None, said: str):
    headers = {"Authorization": authorization} if authorization else {}
    status, error, answer_headers = api.send("POST", "/charge", charge_body(), Content_Type=JSON,
                                             Content_Length=str(len(charge_body())), **headers)
    assert status == 401 and said in error["error"] and "the token file" in error["error"]
    assert answer_headers.get("WWW-Authenticate") == "Bearer"
    assert api.send("GET", "/requests", **headers)[0] == 401, "reading requests needs the token too"
    assert api.requests_made() == []
    [first, second] = api.refusals()
    assert first["action"] == "api POST /charge" and first["outcome"] == "refused"
    assert first["details"]["rule"] == "token" and first["source"].startswith("127.0.0.1:")
    assert second["action"] == "api GET /requests"
    assert verify(api.audit).ok


def test_a_cross_origin_form_post_from_a_web_page_changes_nothing(api: Api):
    """What a page open in the driver's browser can send without a preflight: text/plain, its Origin."""
    body = b'{"cp_id": "CP_001", "duration_s": 5}'
    status, error, _ = api.send("POST", "/charge", body, Origin="http://evil.example", Content_Type="text/plain",
                                Content_Length=str(len(body)))
    assert status == 403 and "evil.example" in error["error"]
    status, _, _ = api.authorized("POST", "/charge", {"cp_id": "CP_001"}, Origin="http://evil.example")
    assert status == 403, "even with the token, a foreign page is refused"
    assert api.requests_made() == []
    assert [r["details"]["rule"] for r in api.refusals()] == ["origin", "origin"]


def test_the_api_s_own_origin_may_call_it(api: Api):
    status, _, _ = api.authorized("POST", "/charge", {"cp_id": None}, Origin=f"http://127.0.0.1:{api.port}")
    assert status == 202


def test_a_foreign_host_name_is_refused_as_dns_rebinding_would_send_it(api: Api):
    status, error, _ = api.authorized("GET", "/requests", Host=f"rebind.evil.example:{api.port}")
    assert status == 403 and "Host" in error["error"] and f"http://127.0.0.1:{api.port}" in error["error"]
    assert api.send("GET", "/health", Host="rebind.evil.example")[0] == 403, "the open path checks Host too"
    assert api.authorized("GET", "/requests", Host=f"localhost:{api.port}")[0] == 200


def test_only_json_bodies_of_a_bounded_size_with_a_length(api: Api):
    body = charge_body()
    status, error, _ = api.authorized("POST", "/charge", None, Content_Type="text/plain",
                                      Content_Length=str(len(body)))
    assert status == 415 and "application/json" in error["error"]
    huge = b'{"cp_id": "' + b"x" * MAX_BODY + b'"}'
    status, error, _ = api.send("POST", "/charge", huge, Authorization=f"Bearer {TOKEN}", Content_Type=JSON,
                                Content_Length=str(len(huge)))
    assert status == 413 and str(MAX_BODY) in error["error"]
    status, error, _ = api.send("POST", "/charge", None, Authorization=f"Bearer {TOKEN}", Content_Type=JSON)
    assert status == 411 and "Content-Length" in error["error"]
    assert api.requests_made() == []
    assert [r["details"]["rule"] for r in api.refusals()] == ["content-type", "body", "body"]


def test_beyond_loopback_only_with_tls_or_by_name_in_a_container():
    with pytest.raises(ValueError, match="without TLS"):
        check_exposure("0.0.0.0", Access(TOKEN))
    with pytest.raises(ValueError, match="--api-tls-cert"):
        check_exposure("192.0.2.7", Access(TOKEN))
    check_exposure("0.0.0.0", Access(TOKEN, tls_cert="cert.pem", tls_key="key.pem"))
    check_exposure("0.0.0.0", Access(TOKEN, allow_plain=True))
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.5"):
        check_exposure(host, Access(TOKEN))


def test_the_cli_refuses_a_plain_wildcard_address_before_it_touches_kafka():
    """A real ``evcharge driver`` process (in this one, its logging set-up would outlive the test)."""
    done = subprocess.run([sys.executable, "-m", "evcharge.cli", "driver", "--id", "D1", "--api-host", "0.0.0.0",
                           "--api-token", TOKEN, "--bootstrap", "127.0.0.1:1"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    err = done.stderr
    assert "refusing to serve the driver API on 0.0.0.0 without TLS" in err and "--api-tls-cert" in err


def test_the_token_file_is_made_private_once_and_kept(tmp_path: Path):
    path = tmp_path / "config" / "driver-D1.token"
    token, source = load_token("", path)
    assert len(token) >= 32 and source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_token("", path) == (token, str(path)), "a restarted driver keeps its token"
    assert load_token("given", path) == ("given", "--api-token")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test certificate")
def test_over_tls_with_a_real_certificate(tmp_path: Path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    driver = Driver(DriverConfig("D1"), FAST, producer=fake_producer(FakeBroker()))
    served = serve_in_background(driver, "127.0.0.1", 0, Access(TOKEN, tls_cert=str(cert), tls_key=str(key)))
    try:
        context = ssl.create_default_context(cafile=str(cert))
        conn = http.client.HTTPSConnection("127.0.0.1", served.port, context=context, timeout=5)
        conn.request("GET", "/requests", headers={"Authorization": f"Bearer {TOKEN}"})
        assert conn.getresponse().status == 200
        conn.close()
        plain = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
        with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
            plain.request("GET", "/health")
            plain.getresponse()
        plain.close()
    finally:
        served.close()


def test_odd_headers_are_refused_not_crashed_on(api: Api):
    body = charge_body()
    status, error, _ = api.send("POST", "/charge", body, Authorization=f"Bearer {TOKEN}", Content_Type=JSON,
                                Content_Length="\u00b2")
    assert status == 400 and "not a number" in error["error"]
    status, _, _ = api.send("GET", "/requests", Host="", Authorization=f"Bearer {TOKEN}")
    assert status == 403, "no Host at all is no address of ours"


def test_a_plain_container_address_still_checks_names():
    """0.0.0.0 without TLS (a container's own address): Host and Origin must still be ours."""
    from email.message import Message

    from evcharge.webapi.guard import Guard, Refused

    guard = Guard(TOKEN, "0.0.0.0", 8100)
    headers = Message()
    headers["Host"], headers["Origin"], headers["Authorization"] = "rebind.evil:8100", "http://rebind.evil:8100", \
        f"Bearer {TOKEN}"
    with pytest.raises(Refused, match="Host"):
        guard.check("GET", "/requests", headers)
    secured = Guard(TOKEN, "0.0.0.0", 8100, tls=True)
    headers.replace_header("Origin", "https://rebind.evil:8100")
    secured.check("GET", "/requests", headers)  # over TLS the certificate is what names the host
    headers.replace_header("Origin", "https://evil-rebind.evil:8100")
    with pytest.raises(Refused, match="pages of"):
        secured.check("GET", "/requests", headers)


def test_a_token_file_others_could_read_is_refused(tmp_path: Path):
    path = tmp_path / "driver-D1.token"
    path.write_text("planted\n")
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="mode 0600"):
        load_token("", path)
    path.chmod(0o600)
    path.write_text("")
    token, _ = load_token("", path)
    assert token and path.read_text().strip() == token, "an empty file gets a token"
