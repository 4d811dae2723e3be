import base64
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from spreadpilot.envelopes import SignalMessage, decode, decode_push, encode
from spreadpilot.errors import Rejected
from spreadpilot.models import Signal, Spread, Strategy, make_signal_id

SPREAD = Spread(strategy=Strategy.BEAR_CALL, short_strike=Decimal(500), long_strike=Decimal(505))
SIGNAL = Signal(
    signal_id=make_signal_id(date(2026, 3, 17), "QQQ", SPREAD, 1), date=date(2026, 3, 17), ticker="QQQ",
    spread=SPREAD, qty_per_leg=1, detected_at=datetime(2026, 3, 17, 13, 28, tzinfo=UTC),
)


def test_signal_message_round_trips_with_its_schema_attribute() -> None:
    data, attributes = encode(SignalMessage(signal=SIGNAL))
    assert attributes == {"schema": "signal.v1"}
    assert decode(data, SignalMessage).signal == SIGNAL


def test_push_envelope_is_decoded_from_base64_data() -> None:
    data, _ = encode(SignalMessage(signal=SIGNAL))
    envelope = {"message": {"data": base64.b64encode(data).decode(), "messageId": "42"}, "subscription": "s"}
    assert decode_push(envelope, SignalMessage).signal.signal_id == SIGNAL.signal_id


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"schema": "signal.v9"}', "schema is 'signal.v9'"),
        (json.dumps({"schema": "signal.v1", "signal": {"ticker": "QQQ"}}).encode(), "signal.date: Field required"),
    ],
)
def test_malformed_messages_are_rejected_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        decode(body, SignalMessage, where="pubsub message 7")


def test_push_body_without_a_message_is_rejected() -> None:
    with pytest.raises(Rejected, match="not a Pub/Sub push envelope"):
        decode_push({"hello": "world"}, SignalMessage)
