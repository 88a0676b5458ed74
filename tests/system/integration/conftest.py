from collections.abc import Iterator

import pytest

from .network import Network


@pytest.fixture
def network(infra, topic_prefix, tmp_path, request) -> Iterator[Network]:
    net = Network(infra, topic_prefix, tmp_path)
    yield net
    net.stop_all()
    if getattr(request.node, "rep_call_failed", False):
        print(net.logs())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """Remember a failed call so the fixture can print the services' log tails."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call_failed = report.failed
