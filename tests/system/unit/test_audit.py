"""The audit log's hash chain: every kind of tampering is named at its line, on a real file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evcharge import cli
from evcharge.audit import GENESIS, AuditLog, load_key, record_hash, verify


def written(tmp_path: Path, count: int = 4) -> Path:
    path = tmp_path / "audit.log"
    log = AuditLog(path, "central")
    for n in range(count):
        log.record("stop-all", "refused", f"D{n}", "127.0.0.1:5000", reason="not an admin")
    log.close()
    return path


def rewrite(path: Path, edit) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def test_an_untouched_log_verifies_and_a_reopened_one_continues_its_chain(tmp_path: Path):
    path = written(tmp_path)
    first = verify(path)
    assert first.ok and first.records == 4
    again = AuditLog(path, "central")
    entry = again.record("register", "accepted", "CP_009")
    again.close()
    assert entry["seq"] == 5 and entry["prev"] == first.head
    assert verify(path).ok and verify(path).records == 5


def edit_actor(lines: list[str]) -> list[str]:
    record = json.loads(lines[1])
    record["actor"] = "admin"
    return [lines[0], json.dumps(record, sort_keys=True), *lines[2:]]


@pytest.mark.parametrize("edit, line, said", [
    (edit_actor, 2, "edited"),
    (lambda lines: [lines[0], *lines[2:]], 2, "removed, inserted or reordered"),
    (lambda lines: [lines[0], lines[2], lines[1], lines[3]], 2, "removed, inserted or reordered"),
    (lambda lines: [lines[0], lines[1], "not json", *lines[2:]], 3, "not a JSON record"),
])
def test_tampering_is_named_at_its_line(tmp_path: Path, edit, line: int, said: str):
    path = written(tmp_path)
    rewrite(path, edit)
    verdict = verify(path)
    assert not verdict.ok and verdict.problem.startswith(f"line {line}:") and said in verdict.problem


def test_records_cut_off_the_end_show_only_against_a_head_kept_elsewhere(tmp_path: Path):
    path = written(tmp_path)
    head = verify(path).head
    rewrite(path, lambda lines: lines[:2])
    assert verify(path).ok, "a shorter chain is still a chain"
    verdict = verify(path, head=head)
    assert not verdict.ok and "cut off the end" in verdict.problem


def test_the_cli_says_intact_or_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = written(tmp_path)
    assert cli.main(["audit", "verify", str(path)]) == 0
    assert "4 records, chain intact" in capsys.readouterr().out
    rewrite(path, edit_actor)
    assert cli.main(["audit", "verify", str(path)]) == 1
    assert "BROKEN after 1 good records: line 2" in capsys.readouterr().out
    assert cli.main(["audit", "verify", str(tmp_path / "missing.log")]) == 2


def test_a_keyed_log_cannot_be_rewritten_without_its_key(tmp_path: Path):
    """An editor who recomputes every hash still fails: the hashes are HMACs under a key kept apart."""
    path, key = tmp_path / "audit.log", load_key(tmp_path / "audit.key")
    log = AuditLog(path, "driver-D1", key)
    for n in range(3):
        log.record("api POST /charge", "refused", "unknown", "127.0.0.1:1", rule="token", n=n)
    log.close()
    assert verify(path, key=key).ok and load_key(tmp_path / "audit.key") == key
    assert "keyed" in verify(path).problem, "without the key a keyed log is not called intact"

    def forge(lines: list[str]) -> list[str]:  # edit, then recompute the chain as an editor would
        prev, out = GENESIS, []
        for line in lines:
            record = json.loads(line)
            record["actor"], record["prev"], record["alg"] = "admin", prev, "sha256"
            record["hash"] = record_hash(record)
            prev = record["hash"]
            out.append(json.dumps(record, sort_keys=True))
        return out

    rewrite(path, forge)
    assert verify(path).ok, "unkeyed, the forgery is a valid chain: that is why the key exists"
    forged = verify(path, key=key)
    assert not forged.ok and forged.problem.startswith("line 1:") and "not signed with the key" in forged.problem


def test_two_writers_on_one_log_keep_one_chain(tmp_path: Path):
    path = tmp_path / "audit.log"
    first, second = AuditLog(path, "driver-D1"), AuditLog(path, "driver-D1")
    for n in range(5):
        (first if n % 2 else second).record("api GET /requests", "refused", "unknown", n=n)
    first.close()
    second.close()
    verdict = verify(path)
    assert verdict.ok and verdict.records == 5


def test_a_log_whose_last_line_is_torn_is_refused_with_what_to_do(tmp_path: Path):
    path = written(tmp_path)
    with path.open("a") as log:
        log.write('{"seq": 5, "tim')
    with pytest.raises(ValueError, match=r"last line is not a record.*move the log aside"):
        AuditLog(path, "central")
