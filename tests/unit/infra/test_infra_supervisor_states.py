"""What the gateway VM's supervisor concludes from what it sees (IBC's log, the API handshake), how many gateways a
VM holds, and what a gateway's state means for an entry on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from spreadpilot.errors import ConfigError
from spreadpilot.models import EntryGate, Gateway, GatewayKind, GatewayState, GatewayStatus
from spreadpilot.secrets import GatewayLogin, gateway_login_secret
from supervisor.capacity import capacity
from supervisor.observe import BAD_LOGIN, LOGGED_IN, TWO_FA_STARTED, TWO_FA_TIMEOUT, Observation, state_of

NOW = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)  # a Sunday: the weekly 2FA


def test_a_completed_handshake_is_logged_in_whatever_the_log_says() -> None:
    seen = Observation(active=True, markers=[TWO_FA_STARTED], accounts=["DU001", "DU002"])
    assert state_of(seen, ["DU001", "DU002"]) == (GatewayState.LOGGED_IN, "")


def test_a_logged_in_gateway_names_configured_accounts_its_login_does_not_serve() -> None:
    state, detail = state_of(Observation(active=True, accounts=["DU001"]), ["DU001", "DU009"])
    assert state is GatewayState.LOGGED_IN
    assert detail == "accounts not served by this login: DU009"


def test_ibc_waiting_for_the_second_factor_is_waiting_for_2fa_until_the_handshake_completes() -> None:
    assert state_of(Observation(active=True, markers=[TWO_FA_STARTED]), [])[0] is GatewayState.WAITING_FOR_2FA
    timed_out = state_of(Observation(active=True, markers=[TWO_FA_STARTED, TWO_FA_TIMEOUT]), [])
    assert timed_out[0] is GatewayState.WAITING_FOR_2FA
    assert "prompts again" in timed_out[1]


def test_a_refused_login_is_failed_and_says_to_change_the_login() -> None:
    state, detail = state_of(Observation(active=True, markers=[f"IBC: {BAD_LOGIN}"]), [])
    assert state is GatewayState.FAILED
    assert "change the gateway's login" in detail


def test_only_the_last_marker_counts() -> None:
    approved = Observation(active=True, markers=[TWO_FA_STARTED, LOGGED_IN], probe_error="timed out")
    assert state_of(approved, [])[0] is GatewayState.STARTING  # logged in, API not answering yet


def test_a_container_that_is_not_running_is_starting_again() -> None:
    assert state_of(Observation(active=False, markers=[LOGGED_IN]), [])[0] is GatewayState.STARTING


@pytest.mark.parametrize(("memory_mb", "setting", "expected"), [
    (7_960, 0, 6),  # e2-standard-2 (8 GB): 1.5 GB for the rest, ~1 GB a gateway
    (15_990, 0, 14),  # e2-standard-4
    (1_500, 0, 0),
    (7_960, 2, 2),  # the setting caps it
])
def test_a_vm_holds_about_one_gateway_per_gigabyte_after_its_reserve(memory_mb: int, setting: int,
                                                                   expected: int) -> None:
    assert capacity(memory_mb, setting) == expected


def _gateway(**changes: object) -> Gateway:
    return Gateway(id="gw1", port=4101, client_id=1, vm="vm1").model_copy(update=changes)


def _status(state: GatewayState) -> GatewayStatus:
    return GatewayStatus(state=state, since=NOW, checked_at=NOW, vm="vm1")


def test_entries_wait_while_a_gateway_waits_for_its_2fa_or_starts_and_go_once_logged_in() -> None:
    assert _gateway(status=_status(GatewayState.WAITING_FOR_2FA)).entry_gate() is EntryGate.WAIT
    assert _gateway(status=_status(GatewayState.STARTING)).entry_gate() is EntryGate.WAIT
    assert _gateway(status=None).entry_gate() is EntryGate.WAIT  # supervised, not reported yet
    assert _gateway(status=_status(GatewayState.LOGGED_IN)).entry_gate() is EntryGate.GO


def test_entries_on_a_failed_or_stopped_gateway_are_refused_and_an_unsupervised_gateway_always_goes() -> None:
    assert _gateway(status=_status(GatewayState.FAILED)).entry_gate() is EntryGate.REFUSE
    assert _gateway(status=_status(GatewayState.STOPPED)).entry_gate() is EntryGate.REFUSE
    assert Gateway(id="gw-hand", port=4002, client_id=1).entry_gate() is EntryGate.GO


def test_a_follower_login_serves_exactly_one_account_and_an_advisor_many() -> None:
    advisor = Gateway(id="adv", port=4101, client_id=1, accounts=("DU001", "DU002"))
    assert advisor.serves("DU002")
    assert not advisor.serves("DU003")
    with pytest.raises(ValueError, match="exactly one account"):
        Gateway(id="f01", port=4102, client_id=1, kind=GatewayKind.FOLLOWER, accounts=("DU001", "DU002"))


def test_a_gateway_document_can_name_only_a_secret_of_the_gateway_name_space() -> None:
    assert Gateway(id="gw1", port=1, client_id=1, secret_name="gateway-login-gw1").secret_name == "gateway-login-gw1"
    for stolen in ("sendgrid-api-key", "ibkr-f01"):
        with pytest.raises(ValueError, match="secret_name"):
            Gateway(id="gw1", port=1, client_id=1, secret_name=stolen)


def test_only_gateway_ids_have_a_login_secret() -> None:
    assert gateway_login_secret("advisor-1") == "gateway-login-advisor-1"
    for bad in ("Advisor", "gw_1", "f01:x", "../sendgrid-api-key"):
        with pytest.raises(ValueError, match="gateway id"):
            gateway_login_secret(bad)


def test_a_gateway_login_keeps_its_password_out_of_its_text_and_refuses_other_json() -> None:
    login = GatewayLogin.from_secret('{"username": "adv", "password": "s3cret-pw"}')
    assert "s3cret-pw" not in repr(login)
    assert "s3cret-pw" not in str(login)
    assert GatewayLogin.from_secret(login.to_secret()) == login
    with pytest.raises(ConfigError) as refused:
        GatewayLogin.from_secret('{"user": "adv", "pass": "s3cret-pw"}')
    assert "s3cret-pw" not in str(refused.value)
