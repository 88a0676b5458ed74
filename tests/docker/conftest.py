"""The Docker engine and the images, once per session, for the tests that need them.

``docker_engine`` starts an engine if none answers (and installs one first in CI, or with
``EVCHAOS_DOCKER_INSTALL=1``), and stops at the end only the engine it started. Where no engine can be
had, every test that needs one skips with the reason: the one skip this suite allows.
``docker_images`` builds the images (offline where mmdebstrap is installed); an image whose inputs
have not changed is not built again, so only a machine's first run pays for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import pytest

from chaos.infra.backends.docker.daemon import ensure_engine, stop_engine
from chaos.infra.backends.docker.images import build_all, images_offline


@contextmanager
def shown(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let a long set-up's progress lines through pytest's capture, as they happen."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
        yield


@pytest.fixture(scope="session")
def docker_engine(request: pytest.FixtureRequest) -> Iterator[None]:
    with shown(request):
        state = ensure_engine()
    if not state.running:
        pytest.skip(state.reason)
    try:
        yield
    finally:
        if state.started:
            stop_engine()


@pytest.fixture(scope="session")
def docker_images(docker_engine: None, request: pytest.FixtureRequest) -> list[str]:
    with shown(request):
        return build_all(offline=images_offline())
