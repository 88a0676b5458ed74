"""The Toxiproxy client against the real server (and a silent socket, for timeouts)."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest

from chaos.infra.ports import free_ports
from chaos.infra.toxiproxy import Proxy, Toxic, ToxiproxyClient, ToxiproxyError

pytestmark = pytest.mark.integration


@pytest.fixture
def toxiproxy(infra) -> ToxiproxyClient:
    return infra.toxiproxy


@pytest.fixture
def scratch_proxy(toxiproxy):
    listen, upstream = free_ports(2)
    proxy = Proxy(f"scratch-{listen}", f"127.0.0.1:{listen}", f"127.0.0.1:{upstream}")
    yield proxy
    with contextlib.suppress(ToxiproxyError):
        toxiproxy.delete(proxy.name)


def test_version(toxiproxy):
    assert toxiproxy.version().lstrip("v").startswith("2.")


def test_proxy_create_get_disable_enable_delete(toxiproxy, scratch_proxy):
    created = toxiproxy.create(scratch_proxy)
    assert created.enabled and created.listen == scratch_proxy.listen
    with pytest.raises(ToxiproxyError, match="409"):
        toxiproxy.create(scratch_proxy)
    toxiproxy.disable(scratch_proxy.name)
    assert not toxiproxy.get(scratch_proxy.name).enabled
    host, port = scratch_proxy.listen.split(":")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=1).close()
    toxiproxy.enable(scratch_proxy.name)
    socket.create_connection((host, int(port)), timeout=1).close()
    toxiproxy.delete(scratch_proxy.name)
    assert scratch_proxy.name not in toxiproxy.proxies()


def test_populate_is_idempotent(toxiproxy, scratch_proxy):
    toxiproxy.populate([scratch_proxy])
    again = toxiproxy.populate([scratch_proxy])
    assert [p.name for p in again] == [scratch_proxy.name]


def test_toxics_add_update_remove_with_stream_and_toxicity(toxiproxy, scratch_proxy):
    toxiproxy.create(scratch_proxy)
    added = toxiproxy.add_toxic(scratch_proxy.name, Toxic("slow", "latency", "upstream", 0.5, {"latency": 100}))
    assert (added.stream, added.toxicity, added.attributes["latency"]) == ("upstream", 0.5, 100)
    updated = toxiproxy.update_toxic(scratch_proxy.name, "slow", {"latency": 250, "jitter": 10}, toxicity=1.0)
    assert updated.attributes["latency"] == 250 and updated.toxicity == 1.0
    assert [t.name for t in toxiproxy.toxics(scratch_proxy.name)] == ["slow"]
    toxiproxy.remove_toxic(scratch_proxy.name, "slow")
    assert toxiproxy.toxics(scratch_proxy.name) == []


def test_unknown_toxic_type_is_refused_by_the_server_naming_the_call(toxiproxy, scratch_proxy):
    """The client keeps no list of toxic types (the fault registry is the one list): the server refuses."""
    toxiproxy.create(scratch_proxy)
    with pytest.raises(ToxiproxyError, match=r"POST /proxies/.*/toxics -> 4\d\d: .*type 'lag'") as refused:
        toxiproxy.add_toxic(scratch_proxy.name, Toxic("x", "lag", attributes={}))
    assert refused.value.status is not None and 400 <= refused.value.status < 500


def test_reset_enables_everything_and_removes_toxics(toxiproxy, scratch_proxy):
    toxiproxy.create(scratch_proxy)
    toxiproxy.add_toxic(scratch_proxy.name, Toxic("cut", "timeout", attributes={"timeout": 0}))
    toxiproxy.disable(scratch_proxy.name)
    toxiproxy.reset()
    proxy = toxiproxy.get(scratch_proxy.name)
    assert proxy.enabled and proxy.toxics == ()


def test_every_call_has_a_timeout():
    """A server that accepts but never answers must not hang the caller."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = ToxiproxyClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(ToxiproxyError, match="no answer"):
            client.version()
        assert time.monotonic() - started < 5
