"""Concurrent requests must never double-book a CP: threads, each with its own SQLite connection
(as separate Central processes would have), race for fewer CPs than there are drivers."""

import threading

from evcharge.central.store import Store
from evcharge.messages import AuthorizationRequest

from .helpers import CentralHarness


def test_no_cp_is_reserved_twice_under_concurrent_requests(tmp_path):
    db = str(tmp_path / "race.db")
    setup = CentralHarness(db)
    cps = [f"CP_{i:03d}" for i in range(10)]
    setup.register(*cps)
    results: list[tuple[str, object]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def driver_thread(worker: int) -> None:
        central = CentralHarness(db)
        barrier.wait()
        for n in range(5):
            driver = f"D{worker}_{n}"
            (reply,) = central.send(AuthorizationRequest(request_id=f"r{worker}{n}", driver_id=driver, cp_id=None))
            with lock:
                results.append((driver, reply.message.body))

    threads = [threading.Thread(target=driver_thread, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    granted = [body.cp_id for _driver, body in results if body.authorized]
    assert len(results) == 40
    assert sorted(granted) == cps  # every CP exactly once, no CP twice
    assert {body.reason for _d, body in results if not body.authorized} == {"no_cp_available"}
    store = Store(db)
    rows = store.conn.execute("SELECT cp_id, COUNT(*) FROM reservations WHERE status='active' GROUP BY cp_id")
    assert all(count == 1 for _cp, count in rows)


def test_concurrent_requests_for_the_same_cp_grant_it_once(tmp_path):
    db = str(tmp_path / "same.db")
    CentralHarness(db).register("CP_001")
    outcomes: list[bool] = []
    barrier = threading.Barrier(6)

    def race(worker: int) -> None:
        central = CentralHarness(db)
        barrier.wait()
        (reply,) = central.send(AuthorizationRequest(request_id=f"r{worker}", driver_id=f"D{worker}", cp_id="CP_001"))
        outcomes.append(reply.message.body.authorized)

    threads = [threading.Thread(target=race, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(True) == 1
