"""Parsing an operator's message into one typed command (or a reason it is not one)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SCOPE = re.compile(r"^(all|[A-Za-z0-9][A-Za-z0-9_.:-]{0,127})$")
_CODE = re.compile(r"^[A-Z0-9]{4,12}$")
_ALERT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")

HELP = (
    "/status — executor, gateways, today's signal and orders\n"
    "/positions — open positions\n"
    "/pnl [follower] — latest P&L\n"
    "/follower ID — one follower: settings, kill switch, today's order, position, P&L\n"
    "/alerts — the newest alerts nobody acknowledged\n"
    "/pause [all|follower] — stop new entries (all: asks for /confirm)\n"
    "/resume [all|follower] — allow entries again\n"
    "/reconcile [all|follower] — reconcile with the broker now\n"
    "/flatten all|follower — close positions (asks for /confirm)\n"
    "/confirm CODE — confirm a flatten or a pause of everyone\n"
    "/ack ALERT_ID — acknowledge an alert"
)


@dataclass(frozen=True)
class Parsed:
    """A well-formed command: ``name`` without the slash, and its one optional argument."""

    name: str
    arg: str | None = None


@dataclass(frozen=True)
class Invalid:
    """Text that is not a command we accept, and the short reason shown to the operator."""

    reason: str


_USAGE = {
    "pause": "usage: /pause [all|follower]",
    "resume": "usage: /resume [all|follower]",
    "flatten": "usage: /flatten all|follower",
    "confirm": "usage: /confirm CODE",
    "ack": "usage: /ack ALERT_ID",
    "pnl": "usage: /pnl [follower]",
    "reconcile": "usage: /reconcile [all|follower]",
    "follower": "usage: /follower ID",
}


def parse_command(text: str, bot_username: str = "") -> Parsed | Invalid:
    """``"/flatten@bot f01"`` → ``Parsed("flatten", "f01")``; anything else → ``Invalid`` with a reason."""
    words = text.strip().split()
    if not words or not words[0].startswith("/"):
        return Invalid("Not a command. Send /help.")
    head, _, mention = words[0][1:].partition("@")
    if mention and bot_username and mention.lower() != bot_username.lower():
        return Invalid("That command is for another bot.")
    name, args = head.lower(), words[1:]
    if name in ("help", "start", "status", "positions", "alerts") and not args:
        return Parsed("help" if name == "start" else name)
    if name in ("pnl", "pause", "resume", "flatten", "reconcile", "follower") and len(args) <= 1:
        arg = args[0] if args else None
        if name in ("flatten", "follower") and arg is None:
            return Invalid(_USAGE[name])
        if name in ("pause", "resume", "reconcile") and arg is None:
            arg = "all"
        if (arg is not None and not _SCOPE.match(arg)) or (name == "follower" and arg == "all"):
            return Invalid(_USAGE[name])
        return Parsed(name, arg)
    if name == "confirm" and len(args) == 1:
        code = args[0].upper()
        return Parsed(name, code) if _CODE.match(code) else Invalid(_USAGE[name])
    if name == "ack" and len(args) == 1:
        return Parsed(name, args[0]) if _ALERT_ID.match(args[0]) else Invalid(_USAGE[name])
    if name in _USAGE:
        return Invalid(_USAGE[name])
    return Invalid("Unknown command. Send /help.")
