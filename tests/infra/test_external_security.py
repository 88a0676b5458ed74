"""The external backend on a secured cluster: the harness logs in with the credentials of the
endpoints file, and says so plainly when asked for security and given none."""

from __future__ import annotations

import json

import pytest

from chaos.infra.backends.factory import make_backend

OPEN = {"brokers": [{"internal": "127.0.0.1:1", "node_id": 1, "pid": None}],
        "roles": {"harness": "127.0.0.1:1"}, "toxiproxy_api": "http://127.0.0.1:1"}


def test_security_on_an_external_cluster_needs_the_harness_credentials_in_the_endpoints_file(tmp_path):
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(json.dumps(OPEN))
    with pytest.raises(ValueError, match="has no harness_credentials"):
        make_backend("external", endpoints_file=str(endpoints), secured=True)
