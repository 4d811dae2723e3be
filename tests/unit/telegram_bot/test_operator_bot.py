from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bot_fakes import CHAT, NOW, OPERATOR, MemoryBotStore, RecordingPublisher, RecordingReplier, make_settings, update

from spreadpilot.models import (
    CommandKind,
    IntentState,
    OrderIntent,
    PnLSnapshot,
    Position,
    PositionLeg,
    Signal,
    Spread,
    Strategy,
    make_intent_id,
    make_signal_id,
)
from telegram_bot.bot import REFUSAL, OperatorBot
from telegram_bot.ports import Heartbeat
from telegram_bot.update import Update

DAY = date(2026, 3, 17)
SPREAD = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
SIGNAL_ID = make_signal_id(DAY, "QQQ", SPREAD, 2)


class Rig:
    def __init__(self, **settings: object) -> None:
        self.store = MemoryBotStore()
        self.publisher = RecordingPublisher()
        self.replier = RecordingReplier()
        self.bot = OperatorBot(make_settings(**settings), self.store, self.publisher, self.replier, "spreadpilot_bot")

    def say(self, text: str, update_id: int = 1, user: int = OPERATOR, chat: int = CHAT, at_s: float = 0) -> str:
        reply = self.bot.handle(update(text, update_id, user, chat), NOW + timedelta(seconds=at_s))
        assert reply is not None
        return reply


def intent(follower: str, state: IntentState) -> OrderIntent:
    return OrderIntent(intent_id=make_intent_id(SIGNAL_ID, follower), signal_id=SIGNAL_ID, follower_id=follower,
                       gateway_id="gw1", account="DU001", spread=SPREAD, expiry=DAY, contracts=2, state=state,
                       created_at=NOW, updated_at=NOW)


def test_a_chat_not_on_the_allowlist_is_refused_and_nothing_is_published() -> None:
    rig = Rig()
    assert rig.say("/flatten all", chat=-999) == REFUSAL
    assert rig.publisher.published == []
    assert rig.store.audits[0]["action"] == "telegram.refused"


def test_a_user_not_on_the_allowlist_is_refused_even_in_an_allowed_chat() -> None:
    rig = Rig()
    assert rig.say("/pause all", user=999) == REFUSAL
    assert rig.publisher.published == []


def test_an_unknown_command_gets_a_short_refusal_and_publishes_nothing() -> None:
    rig = Rig()
    assert rig.say("/sell everything") == "Unknown command. Send /help."
    assert rig.publisher.published == []
    assert rig.store.audits[0]["outcome"] == "refused"


def test_pause_publishes_one_command_whose_id_comes_from_the_update() -> None:
    rig = Rig()
    rig.say("/pause f01", update_id=42)
    [(topic, message)] = rig.publisher.published
    command = message.command  # type: ignore[union-attr]
    assert topic == "commands"
    assert (command.command_id, command.kind, command.scope, command.source) == (
        "tg-42", CommandKind.PAUSE, "f01", "telegram")
    assert command.issued_by == f"telegram:{OPERATOR}"


def test_a_redelivered_update_publishes_its_command_once() -> None:
    rig = Rig()
    rig.say("/resume all", update_id=7)
    rig.say("/resume all", update_id=7)
    assert len(rig.publisher.commands()) == 1


def test_flatten_only_asks_for_a_confirmation_code() -> None:
    rig = Rig()
    reply = rig.say("/flatten all", update_id=10)
    [request] = rig.publisher.commands()
    assert request.kind is CommandKind.FLATTEN_REQUEST
    assert request.confirm_code
    assert f"/confirm {request.confirm_code} within 2 minutes" in reply
    assert rig.store.confirmations[request.confirm_code].expires_at == NOW + timedelta(seconds=120)


def test_confirm_by_the_same_operator_in_time_publishes_the_flatten_confirm() -> None:
    rig = Rig()
    rig.say("/flatten f03", update_id=10)
    code = rig.publisher.commands()[0].confirm_code
    rig.say(f"/confirm {code}", update_id=11, at_s=60)
    confirm = rig.publisher.commands()[1]
    assert (confirm.kind, confirm.scope, confirm.confirm_code, confirm.command_id) == (
        CommandKind.FLATTEN_CONFIRM, "f03", code, "tg-11")


def test_confirm_by_another_operator_is_refused() -> None:
    rig = Rig()
    rig.say("/flatten all", update_id=10)
    code = rig.publisher.commands()[0].confirm_code
    assert "Only the operator" in rig.say(f"/confirm {code}", update_id=11, user=222)
    assert [c.kind for c in rig.publisher.commands()] == [CommandKind.FLATTEN_REQUEST]


def test_confirm_after_expiry_is_refused() -> None:
    rig = Rig()
    rig.say("/flatten all", update_id=10)
    code = rig.publisher.commands()[0].confirm_code
    assert "expired" in rig.say(f"/confirm {code}", update_id=11, at_s=121)
    assert len(rig.publisher.commands()) == 1


def test_a_code_confirms_one_flatten_only() -> None:
    rig = Rig()
    rig.say("/flatten all", update_id=10)
    code = rig.publisher.commands()[0].confirm_code
    rig.say(f"/confirm {code}", update_id=11)
    assert "already confirmed" in rig.say(f"/confirm {code}", update_id=12)
    rig.say(f"/confirm {code}", update_id=11)  # the first confirm, redelivered
    assert len(rig.publisher.commands()) == 2


def test_an_unknown_code_confirms_nothing() -> None:
    rig = Rig()
    assert rig.say("/confirm ZZZZZZ") == "Unknown confirmation code."
    assert rig.publisher.published == []


def test_a_redelivered_flatten_keeps_its_code() -> None:
    rig = Rig()
    first = rig.say("/flatten all", update_id=10)
    assert rig.say("/flatten all", update_id=10) == first
    assert len(rig.publisher.commands()) == 1


def test_status_shows_heartbeat_gateways_signal_and_orders() -> None:
    rig = Rig()
    rig.store.beat = Heartbeat.model_validate({"at": NOW - timedelta(seconds=12), "gateways": {
        "gw1": {"connected": True, "since": NOW - timedelta(hours=1)},
        "gw2": {"connected": False, "since": NOW - timedelta(minutes=2)}}})
    rig.store.signals = [Signal(signal_id=SIGNAL_ID, date=DAY, ticker="QQQ", spread=SPREAD, qty_per_leg=2,
                                detected_at=NOW)]
    rig.store.orders = [intent("f01", IntentState.FILLED), intent("f02", IntentState.FILLED),
                        intent("f03", IntentState.WORKING)]
    text = rig.say("/status")
    assert "Executor: alive (heartbeat 12 s ago)" in text
    assert "Gateway gw2: DISCONNECTED since 10:38:00 ET" in text
    assert f"Signal 2026-03-17: {SIGNAL_ID} bull_put 485/480 ×2" in text
    assert "Orders: 3 total · filled 2 · working 1" in text
    assert rig.publisher.published == []


def test_status_says_when_the_executor_is_silent_and_no_signal_came() -> None:
    rig = Rig()
    text = rig.say("/status")
    assert "Executor: no heartbeat" in text
    assert "Signal 2026-03-17: none yet" in text


def test_positions_lists_open_legs_only() -> None:
    rig = Rig()
    legs = (PositionLeg(con_id=1, right="P", strike=Decimal(485), qty=-2),
            PositionLeg(con_id=2, right="P", strike=Decimal(480), qty=2))
    rig.store.positions = [
        Position(follower_id="f01", account="DU001", signal_id=SIGNAL_ID, legs=legs, updated_at=NOW),
        Position(follower_id="f02", account="DU002", signal_id=SIGNAL_ID,
                 legs=(PositionLeg(con_id=1, qty=0),), updated_at=NOW),
    ]
    assert rig.say("/positions") == "1 open position(s)\nf01 DU001: -2 QQQ P485, +2 QQQ P480"


def test_pnl_shows_the_latest_snapshot_of_a_follower() -> None:
    rig = Rig()
    rig.store.snapshots = [
        PnLSnapshot(follower_id="f01", account="DU001", at=NOW - timedelta(minutes=5), daily_pnl=Decimal("10"),
                    unrealized_pnl=Decimal("10"), realized_pnl=Decimal(0)),
        PnLSnapshot(follower_id="f01", account="DU001", at=NOW, daily_pnl=Decimal("123.456"),
                    unrealized_pnl=Decimal("100"), realized_pnl=Decimal("23.456")),
    ]
    assert rig.say("/pnl f01") == "f01: day +123.46 (unrealised +100.00, realised +23.46) at 10:40:00 ET"


def test_ack_marks_the_alert_acknowledged_by_the_operator() -> None:
    rig = Rig()
    rig.store.alerts["a-1"] = {}
    assert rig.say("/ack a-1") == "Alert a-1 acknowledged."
    assert rig.store.alerts["a-1"]["acknowledged_by"] == f"telegram:{OPERATOR}"
    assert rig.say("/ack a-2", update_id=2) == "No alert a-2."


def test_every_command_is_audited_and_answered_in_its_chat() -> None:
    rig = Rig()
    for update_id, text in enumerate(["/help", "/status", "/pause f01", "/nonsense"], start=1):
        rig.say(text, update_id=update_id)
    assert [a["action"] for a in rig.store.audits] == ["telegram.help", "telegram.status", "telegram.pause",
                                                       "telegram.invalid"]
    assert {chat for chat, _ in rig.replier.sent} == {str(CHAT)}


def test_updates_without_text_are_ignored() -> None:
    rig = Rig()
    assert rig.bot.handle(update("/status").model_copy(update={"message": None}), NOW) is None
    assert rig.replier.sent == []
    assert rig.store.audits == []


def test_pausing_everyone_asks_for_a_code_and_only_its_confirmation_by_the_same_operator_publishes_the_pause() -> None:
    rig = Rig()
    for text, update_id in (("/pause", 20), ("/pause all", 21)):
        reply = rig.say(text, update_id=update_id)
        assert "nothing is sent yet" in reply
        assert "within 2 minutes" in reply
    assert rig.publisher.commands() == []
    code = next(c for c, p in rig.store.confirmations.items() if p.command_id == "tg-20")
    assert rig.store.confirmations[code].kind == "pause_all"
    refused = rig.say(f"/confirm {code}", update_id=22, user=222)
    assert "Only the operator who asked for the pause of everyone" in refused
    assert "confirmed" in rig.say(f"/confirm {code}", update_id=23, at_s=30)
    [pause] = rig.publisher.commands()
    assert (pause.kind, pause.scope, pause.command_id) == (CommandKind.PAUSE, "all", "tg-23")
    assert "already confirmed" in rig.say(f"/confirm {code}", update_id=24, at_s=40)
    late = next(c for c, p in rig.store.confirmations.items() if p.command_id == "tg-21")
    assert "expired. Send /pause all again" in rig.say(f"/confirm {late}", update_id=25, at_s=121)
    assert len(rig.publisher.commands()) == 1


def test_reconcile_publishes_one_command_for_a_follower_or_everyone_and_refuses_an_unknown_id() -> None:
    rig = Rig()
    assert "sent" in rig.say("/reconcile f02", update_id=30)
    assert "sent" in rig.say("/reconcile", update_id=31)
    assert "No follower 'f9'" in rig.say("/reconcile f9", update_id=32)
    assert [(c.kind, c.scope) for c in rig.publisher.commands()] == [(CommandKind.RECONCILE, "f02"),
                                                                     (CommandKind.RECONCILE, "all")]


def test_alerts_lists_the_newest_unacknowledged_ones_with_the_id_to_ack() -> None:
    rig = Rig()
    assert rig.say("/alerts") == "No open alerts: every recent alert is acknowledged."
    for n in range(14):
        rig.store.alerts[f"a-{n}"] = {"type": "order.rejected", "severity": "CRITICAL", "message": f"rejected {n}",
                                      "at": NOW - timedelta(minutes=30 - n), "follower_id": "f01"}
    rig.store.alerts["a-13"]["acknowledged_by"] = "telegram:1"
    rig.store.alerts["a-12"]["collapsed_into"] = "a-11"
    rig.store.alerts["a-11"]["count"] = 2
    lines = rig.say("/alerts", update_id=2).splitlines()
    assert lines[0] == "10 newest alert(s) nobody acknowledged (/ack ID):"
    assert lines[1] == "CRITICAL order.rejected f01 ×2, 19 min ago: rejected 11 [a-11]"
    assert [line.rsplit("[", 1)[1] for line in lines[1:]] == [f"a-{n}]" for n in range(11, 1, -1)]


def test_follower_shows_its_settings_kill_switch_orders_position_and_pnl_and_refuses_an_unknown_id() -> None:
    rig = Rig()
    rig.store.signals = [Signal(signal_id=SIGNAL_ID, date=DAY, ticker="QQQ", spread=SPREAD, qty_per_leg=2,
                                detected_at=NOW)]
    rig.store.orders = [intent("f01", IntentState.FILLED).model_copy(update={"filled_qty": 2,
                                                                            "avg_price": Decimal("0.84")}),
                        intent("f02", IntentState.SUBMITTED)]
    rig.store.paused["global"] = "everyone: desk review (by telegram:111)"
    reply = rig.say("/follower f01").splitlines()
    assert reply[0] == "Follower f01: enabled, active, account DU001 on gateway gw1"
    assert reply[1] == "Sizing: ×1, at most 10 contract(s); daily-loss limit $2,000.00"
    assert reply[2] == "Entries: PAUSED for everyone: desk review (by telegram:111)"
    assert reply[3] == "Order entry filled: 2/2 at 0.84"
    assert reply[4] == "Position: none"
    rig.store.positions = [Position(follower_id="f01", account="DU001", signal_id=SIGNAL_ID, updated_at=NOW,
                                    legs=(PositionLeg(con_id=1, right="P", strike=Decimal(485), qty=-2),))]
    assert rig.say("/follower f01", update_id=4).splitlines()[4] == "Position: -2 QQQ P485"
    assert "No follower 'f9'" in rig.say("/follower f9", update_id=2)
    assert rig.say("/follower", update_id=3) == "usage: /follower ID"


def test_300_followers_positions_come_in_pages_whose_buttons_turn_them_in_the_same_message() -> None:
    rig = Rig()
    legs = (PositionLeg(con_id=1, right="P", strike=Decimal(485), qty=-1),)
    rig.store.positions = [Position(follower_id=f"f{n:03d}", account=f"DU{n:03d}", signal_id=SIGNAL_ID, legs=legs,
                                    updated_at=NOW) for n in range(1, 301)]
    first = rig.say("/positions").splitlines()
    assert first[0] == "300 open position(s) (page 1 of 12)"
    assert [line.split()[0] for line in first[1:]] == [f"f{n:03d}" for n in range(1, 26)]
    assert rig.replier.buttons == [[("page 2 ›", "positions:2")]]

    def press(data: str, user: int = OPERATOR, press_id: str = "cb-1") -> str | None:
        return rig.bot.handle(Update.model_validate({"update_id": 900, "callback_query": {
            "id": press_id, "from": {"id": user, "is_bot": False, "first_name": "Op"}, "data": data,
            "message": {"message_id": 1, "date": 0, "chat": {"id": CHAT, "type": "group"}}}}), NOW)

    assert press("positions:12") is not None
    [(chat, message_id, text, buttons)] = rig.replier.edits
    assert (chat, message_id) == (str(CHAT), 1)
    assert text.splitlines()[0] == "300 open position(s) (page 12 of 12)"
    assert [line.split()[0] for line in text.splitlines()[1:]] == [f"f{n:03d}" for n in range(276, 301)]
    assert buttons == [("‹ page 11", "positions:11")]
    assert press("positions:99", press_id="cb-2") is not None  # beyond the end: the last page
    assert rig.replier.edits[-1][2].splitlines()[0].endswith("(page 12 of 12)")
    assert press("positions:2", user=999, press_id="cb-3") is None  # not an allowed operator: nothing shown
    assert press("sell:everything", press_id="cb-4") is None
    assert len(rig.replier.edits) == 2
    assert rig.replier.answered == [("cb-1", ""), ("cb-2", ""), ("cb-3", REFUSAL),
                                    ("cb-4", "That button is not ours any more: send the command again.")]
    assert [a["outcome"] for a in rig.store.audits if a["action"] in ("telegram.page", "telegram.refused")] == [
        "answered", "answered", "unauthorised", "refused"]


def test_pnl_of_everyone_pages_with_the_total_on_every_page() -> None:
    rig = Rig()
    rig.store.snapshots = [PnLSnapshot(follower_id=f"f{n:03d}", account=f"DU{n:03d}", at=NOW, daily_pnl=Decimal(2),
                                       unrealized_pnl=Decimal(2), realized_pnl=Decimal(0)) for n in range(1, 61)]
    first = rig.say("/pnl").splitlines()
    assert first[0] == "Total: day +120.00 (page 1 of 3)"
    assert len(first) == 26
    assert rig.replier.buttons == [[("page 2 ›", "pnl:2")]]
    assert "(page" not in rig.say("/pnl f001", update_id=2)  # one follower: one short answer
