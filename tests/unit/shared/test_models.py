from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from spreadpilot.models import (
    Alert,
    Follower,
    IntentState,
    OrderIntent,
    Severity,
    Signal,
    Spread,
    Strategy,
    make_intent_id,
    make_signal_id,
    mask_iban,
    validate_iban,
)

NOW = datetime(2026, 3, 17, 13, 30, tzinfo=UTC)
BULL_PUT = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))


def follower(**changes: object) -> Follower:
    fields: dict[str, object] = {
        "id": "f01", "name": "Ada", "email": "Ada@Example.com", "iban": "DE89 3704 0044 0532 0130 00",
        "commission_pct": Decimal(20), "gateway_id": "gw1", "ibkr_account": "DU001",
    }
    return Follower.model_validate({**fields, **changes})


def test_bull_put_requires_sell_put_above_buy_put() -> None:
    with pytest.raises(ValidationError, match="Sell Put must be above Buy Put"):
        Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(480), long_strike=Decimal(485))


def test_bear_call_requires_sell_call_below_buy_call() -> None:
    with pytest.raises(ValidationError, match="Sell Call must be below Buy Call"):
        Spread(strategy=Strategy.BEAR_CALL, short_strike=Decimal(500), long_strike=Decimal(495))


def test_signal_id_is_the_same_for_every_spelling_of_a_strike() -> None:
    spelled = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal("485.00"), long_strike=Decimal("480.0"))
    assert make_signal_id(date(2026, 3, 17), "QQQ", spelled, 2) == make_signal_id(date(2026, 3, 17), "QQQ", BULL_PUT, 2)


def test_signal_id_differs_when_any_part_of_the_trade_differs() -> None:
    base = make_signal_id(date(2026, 3, 17), "QQQ", BULL_PUT, 2)
    assert base != make_signal_id(date(2026, 3, 17), "QQQ", BULL_PUT, 3)
    assert base != make_signal_id(date(2026, 3, 18), "QQQ", BULL_PUT, 2)


def test_signal_with_an_id_that_does_not_match_its_content_is_rejected() -> None:
    with pytest.raises(ValidationError, match="does not match"):
        Signal(signal_id="20260317-QQQ-bull_put-00000000", date=date(2026, 3, 17), ticker="QQQ", spread=BULL_PUT,
               qty_per_leg=2, detected_at=NOW)


def test_follower_normalises_email_and_iban_and_round_trips_through_a_document() -> None:
    f = follower()
    assert f.email == "ada@example.com"
    assert f.iban == "DE89370400440532013000"
    assert Follower.from_doc(f.to_doc()) == f
    assert f.to_doc()["commission_pct"] == "20"  # money is never a float in Firestore


def test_follower_with_a_bad_iban_checksum_is_rejected() -> None:
    with pytest.raises(ValidationError, match="check digits"):
        follower(iban="DE00370400440532013000")


def test_mask_iban_keeps_only_the_last_four() -> None:
    masked = mask_iban(validate_iban("DE89 3704 0044 0532 0130 00"))
    assert masked.endswith("3000")
    assert "3704" not in masked


def test_models_reject_unknown_fields_and_naive_datetimes() -> None:
    with pytest.raises(ValidationError):
        follower(favourite_colour="red")
    with pytest.raises(ValidationError, match="timezone-aware"):
        Alert(alert_id="a1", type="x.y", severity=Severity.INFO, message="m", at=datetime(2026, 3, 17),  # noqa: DTZ001 - the naive datetime is the point
              source="test")


def test_intent_moves_through_states_with_a_timestamped_history() -> None:
    intent = OrderIntent(
        intent_id=make_intent_id("sig", "f01"), signal_id="sig", follower_id="f01", gateway_id="gw1",
        account="DU001", spread=BULL_PUT, expiry=date(2026, 3, 17), contracts=2, created_at=NOW, updated_at=NOW,
    )
    submitted = intent.moved_to(IntentState.SUBMITTED, NOW, "order 7", order_id=7)
    assert submitted.state is IntentState.SUBMITTED
    assert submitted.order_id == 7
    assert [c.state for c in submitted.history] == [IntentState.SUBMITTED]
    assert intent.state is IntentState.PLANNED  # frozen: the original is unchanged
    assert IntentState.FILLED.final
    assert not IntentState.WORKING.final
