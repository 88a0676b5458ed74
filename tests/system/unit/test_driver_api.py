"""The driver's HTTP API and services file, over a real socket, with a fake Kafka."""

import json
import urllib.error
import urllib.request

import pytest

from evcharge.driver.api import Access, make_server, serve_in_background
from evcharge.driver.core import Driver, DriverConfig
from evcharge.driver.services import read_services

from .fakes import FAST, FakeBroker, fake_producer


@pytest.fixture
def api():
    driver = Driver(DriverConfig("D1", cp_list_timeout=0.2), FAST, producer=fake_producer(FakeBroker()))
    served = serve_in_background(driver, "127.0.0.1", 0, Access(TOKEN))
    yield f"http://127.0.0.1:{served.port}"
    served.close()


TOKEN = "a-test-token"


def call(url: str, body: object = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_request_status_and_stop(api):
    status, created = call(f"{api}/charge", {"cp_id": "CP_001", "duration_s": 5})
    assert status == 202 and created["state"] == "pending"
    status, one = call(f"{api}/requests/{created['request_id']}")
    assert status == 200 and one["wanted_cp"] == "CP_001"
    status, stopped = call(f"{api}/requests/{created['request_id']}/stop", {})
    assert status == 202 and stopped["state"] == "cancelled"
    assert call(f"{api}/requests")[1][0]["request_id"] == created["request_id"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [({"cp_id": "bad id"}, "cp_id"), ({"duration_s": -1}, "duration_s"), ({"x": 1}, "unknown"), ([1], "object")],
)
def test_bad_requests_get_400_with_a_reason(api, body, fragment):
    status, error = call(f"{api}/charge", body)
    assert status == 400 and fragment in error["error"]


def test_unknown_things_get_404_and_silent_central_504(api):
    assert call(f"{api}/requests/nope")[0] == 404
    assert call(f"{api}/nowhere")[0] == 404
    status, error = call(f"{api}/cps")
    assert status == 504 and "did not answer" in error["error"]


def test_services_file(tmp_path):
    path = tmp_path / "services.txt"
    path.write_text("CP_001\n\n# a comment\nCP_002  # trailing\n")
    assert read_services(path) == ["CP_001", "CP_002"]
    path.write_text("CP 001\n")
    with pytest.raises(ValueError, match=r"services\.txt:1"):
        read_services(path)


def test_make_server_binds_the_port_it_is_given():
    driver = Driver(DriverConfig("D9"), FAST, producer=fake_producer(FakeBroker()))
    server = make_server(driver, "127.0.0.1", 0, Access(TOKEN))
    assert server.server_address[1] > 0
    server.server_close()
