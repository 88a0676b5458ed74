"""The README's guide for testing one's own system keeps up with the harness: every fault kind, every
readiness form and every field of a spec is named there, so a user never needs the source to find one."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from chaos.core.readiness import Readiness
from chaos.core.spec import ServiceSpec, SystemSpec
from chaos.faults.registry import fault_kinds

README = Path(__file__).resolve().parents[2] / "README.md"


def guide() -> str:
    text = README.read_text()
    match = re.search(r"^## Testing your own system\n(.*?)^## ", text, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no '## Testing your own system' section"
    return match.group(1)


def test_the_guide_names_every_fault_kind():
    missing = [kind for kind in fault_kinds() if f"`{kind}`" not in guide()]
    assert not missing, f"fault kinds the README's guide does not name: {missing}"


def test_the_guide_names_every_readiness_form_and_spec_field():
    text = guide()
    forms = [form.split()[0] for form in Readiness.FORMS]
    fields = [f.name for spec in (ServiceSpec, SystemSpec) for f in dataclasses.fields(spec)]
    missing = [f"readiness {form}" for form in forms if f"`{form}" not in text]
    missing += [f"spec field {name}" for name in fields if f"`{name}" not in text]
    assert not missing, f"not in the README's guide: {missing}"
