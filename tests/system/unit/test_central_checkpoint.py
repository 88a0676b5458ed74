"""WAL checkpoints on their own thread: the writer's own threshold is raised only while it runs,
the checkpoints really happen, and committed data is intact and visible to other connections."""

from __future__ import annotations

import re

from evcharge.central.checkpoint import FALLBACK_PAGES, Checkpointer
from evcharge.central.ids import fast_id
from evcharge.central.store import Store
from evcharge.messages import AuthorizationResponse

from .fakes import wait_for


def autocheckpoint(store: Store) -> int:
    return int(store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])


def test_the_background_thread_checkpoints_and_the_writer_keeps_a_fallback(tmp_path):
    store = Store(tmp_path / "c.db")
    with Checkpointer(store, interval=0.01) as checkpointer:
        assert autocheckpoint(store) == FALLBACK_PAGES
        with store.transaction():
            for i in range(500):
                store.mark_processed(f"m{i}", float(i))
        # the thread, not the writer (500 rows are far below its fallback), copies the whole WAL back
        wait_for(lambda: checkpointer.last is not None and 0 < checkpointer.last[1] == checkpointer.last[2])
    assert autocheckpoint(store) == 1000
    reader = Store(tmp_path / "c.db")
    assert reader.already_processed("m499")


def test_an_in_memory_store_needs_no_thread():
    store = Store()
    with Checkpointer(store) as checkpointer:
        assert checkpointer._thread is None
    assert checkpointer.checkpoints == 0


def test_central_ids_are_valid_message_ids_and_unique():
    ids = {fast_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    AuthorizationResponse(request_id=fast_id(), driver_id="D1", authorized=True, reservation_id=fast_id())
