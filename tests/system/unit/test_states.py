import pytest

from evcharge.states import BUSY, TRANSITIONS, CpEvent, CpState, InvalidTransition, next_state


def test_every_state_has_a_row_and_targets_are_states():
    assert set(TRANSITIONS) == set(CpState)
    for row in TRANSITIONS.values():
        assert all(isinstance(target, CpState) for target in row.values())


@pytest.mark.parametrize("state", list(CpState))
@pytest.mark.parametrize("event", list(CpEvent))
def test_next_state_follows_the_table_or_refuses(state, event):
    if event in TRANSITIONS[state]:
        assert next_state(state, event) == TRANSITIONS[state][event]
    else:
        with pytest.raises(InvalidTransition):
            next_state(state, event)


def test_the_happy_path():
    state = CpState.AVAILABLE
    for event in (CpEvent.RESERVE, CpEvent.START, CpEvent.FINISH):
        state = next_state(state, event)
    assert state == CpState.AVAILABLE


def test_only_an_available_cp_can_be_reserved():
    for state in CpState:
        if state != CpState.AVAILABLE:
            with pytest.raises(InvalidTransition):
                next_state(state, CpEvent.RESERVE)


def test_monitor_lost_disconnects_and_engine_ko_faults_unless_stopped():
    for state in set(CpState) - {CpState.STOPPED}:
        assert next_state(state, CpEvent.MONITOR_LOST) == CpState.DISCONNECTED
        assert next_state(state, CpEvent.ENGINE_KO) == CpState.FAULT
    assert next_state(CpState.STOPPED, CpEvent.ENGINE_KO) == CpState.STOPPED
    assert next_state(CpState.STOPPED, CpEvent.MONITOR_LOST) == CpState.STOPPED


def test_health_returns_a_faulty_or_disconnected_cp_to_service():
    assert next_state(CpState.FAULT, CpEvent.ENGINE_OK) == CpState.AVAILABLE
    assert next_state(CpState.DISCONNECTED, CpEvent.ENGINE_OK) == CpState.AVAILABLE


def test_a_reserved_cp_can_always_be_freed():
    """The invariant the harness checks: nothing keeps a CP reserved with no way out."""
    assert CpEvent.RELEASE in TRANSITIONS[CpState.RESERVED]
    assert {CpState.RESERVED, CpState.CHARGING} == BUSY
