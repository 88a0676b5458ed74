"""The network's principals enrolled before a scenario starts: the registry's database and each
component's key file, in the scenario's work folder (``SystemSpec.setup``).

In-process, with the registry's own code (``RegistryStore``, ``write_key``): what ``evcharge registry
init`` does, without starting an interpreter per scenario (the CLI and the HTTPS API have their own
tests against real processes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from evcharge.auth.keys import write_key
from evcharge.registry.store import RegistryStore

REGISTRY = "{workdir}/registry.db"
"""Central's ``--registry-db``."""


def key_file(kind: str, ident: str) -> str:
    """The key file of a principal, as a template (``{workdir}`` is the scenario's folder)."""
    return "{workdir}/keys/" + f"{kind}-{ident}.key"


def enrol(principals: Iterable[tuple[str, str]]) -> Callable[[Mapping[str, str]], None]:
    """A set-up step that enrolls ``principals`` (and Central) and writes their key files."""
    wanted = [("central", "central"), *principals]

    def step(values: Mapping[str, str]) -> None:
        workdir = Path(values["workdir"])
        store = RegistryStore(workdir / "registry.db")
        try:
            for kind, ident in wanted:
                key = store.enroll(kind, ident)
                if kind != "central":  # Central reads every key from the database
                    write_key(workdir / "keys" / f"{kind}-{ident}.key", key)
        finally:
            store.close()

    return step
