"""``free_ports``: listeners the harness gives brokers, proxies and services stay clear of the ports
the kernel hands out to outgoing connections, so no client connection can take one first."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from chaos.infra import topology
from chaos.infra.topology import LISTEN_LOW, ephemeral_low, free_ports


def test_ports_are_distinct_free_and_below_the_ephemeral_range() -> None:
    low = ephemeral_low()
    ports = free_ports(40)
    assert len(set(ports)) == 40
    if low is not None:
        assert all(LISTEN_LOW <= port < low for port in ports), (low, ports)
    for port in ports:  # each can be bound right away
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_skipped(monkeypatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", LISTEN_LOW))
        taken.listen()
        monkeypatch.setattr(topology.random, "shuffle", lambda items: None)  # try LISTEN_LOW first
        assert LISTEN_LOW not in free_ports(3)


def test_without_a_known_range_the_kernel_chooses(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(topology, "EPHEMERAL_RANGE", tmp_path / "missing")
    assert ephemeral_low(tmp_path / "missing") is None
    monkeypatch.setattr(topology.random, "shuffle", lambda items: pytest.fail("no range: nothing to shuffle"))
    ports = free_ports(3)
    assert len(set(ports)) == 3 and all(port > 0 for port in ports)
