"""``inject-resent``: the topic's latest record sent again as a new message: a fresh id and timestamp.

A duplicate under the same id is the easy case (a consumer that remembers ids drops it). A sender
that retries with a new envelope (a lost acknowledgement, then a retry built from scratch) makes
the same request look new; only a consumer whose effects are idempotent by what the message *means*
(this session's completion, this reservation's start) acts on it once. The system must change
nothing: no second effect, no state change.
"""

from __future__ import annotations

import json
import time
import uuid

from chaos.faults.base import FaultError, Param
from chaos.faults.messages import IGNORED, MessageFault, leaves, replaced
from chaos.faults.registry import register
from chaos.infra.records import json_object


@register
class InjectResent(MessageFault):
    kind = "inject-resent"
    summary = "Write the topic's latest record again under a new id and timestamp (a retry with a new envelope)."
    expect = IGNORED
    needs_sample = True
    PARAMS = {
        "id_field": Param("message_id", "the dotted path of the record's own id, given a fresh value", str),
        "time_field": Param("timestamp", "the dotted path of its send time, set to now (empty: left alone)", str),
    }

    def records(self, sample: bytes | None) -> list[tuple[bytes, str]]:
        document = json_object(sample)
        if document is None:
            raise FaultError(f"{self.name}: the sample is not a JSON object")
        paths = {".".join(map(str, path)): path for path, _ in leaves(document)}
        id_path = paths.get(str(self.params["id_field"]))
        if id_path is None:
            raise FaultError(f"{self.name}: the sample has no field {self.params['id_field']!r} to renew")
        fresh = uuid.uuid4().hex
        document = replaced(document, id_path, fresh)
        time_path = paths.get(str(self.params["time_field"])) if self.params["time_field"] else None
        if time_path is not None:
            document = replaced(document, time_path, round(time.time(), 6))
        return [(json.dumps(document).encode(), f"the latest record resent as {fresh}")]
