"""Debian packages the harness may install for itself: the Docker engine, a headless browser.

Only where it is asked to (CI, where a fresh machine has none of them, or an explicit variable such
as ``EVCHAOS_DOCKER_INSTALL=1``) and only where it can (root, ``apt-get``): elsewhere the test that
needs the package skips and says what to install. Progress is shown line by line, as for every long
operation.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence

from chaos.infra.install import progress, run_streaming


def install_allowed(variable: str) -> bool:
    """CI (``CI=true``), or ``variable=1``."""
    return os.environ.get(variable, "") == "1" or os.environ.get("CI", "").lower() == "true"


def apt_install(packages: Sequence[str]) -> None:
    """``apt-get update`` and ``apt-get install -y`` the packages, with progress; raises with apt's
    own words on failure."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    progress(f"installing {', '.join(packages)} with apt-get (once per machine)")
    run_streaming(["apt-get", "update"], env, re.compile(r"^(Get|Hit|Err|Reading)"), "apt-get update")
    run_streaming(["apt-get", "install", "-y", "--no-install-recommends", *packages], env,
                  re.compile(r"^(Setting up|Unpacking|E:)"), "apt-get install")


def can_install() -> str | None:
    """None if this process can install packages; else why it cannot."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "installing needs root and apt-get"
    return None


def ensure_binary(names: Sequence[str], package: str, variable: str) -> tuple[str | None, str]:
    """The path of the first of ``names`` on PATH, installing ``package`` first where allowed
    (``install_allowed(variable)``); else ``(None, why)``, the reason naming what to install."""
    def found() -> str | None:
        return next(filter(None, (shutil.which(name) for name in names)), None)

    path = found()
    if path is not None:
        return path, ""
    if not install_allowed(variable):
        return None, (f"{' or '.join(names)} is not installed: apt-get install {package}, or set {variable}=1 "
                      "to let the harness install it")
    unable = can_install()
    if unable is not None:
        return None, f"{' or '.join(names)} is not installed, and it cannot be installed here ({unable})"
    apt_install([package])
    path = found()
    return (path, "") if path else (None, f"apt-get installed {package} but {' or '.join(names)} is not on PATH")
