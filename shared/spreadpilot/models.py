"""Domain models: frozen, validated, and the same shape in Firestore, Pub/Sub and memory.

Money is ``Decimal`` (stored as strings so Firestore never turns it into a float), quantities are ``int``,
datetimes are timezone-aware (stored as ISO-8601 UTC strings, which sort correctly).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# ── primitives ──────────────────────────────────────────────────────────────────────────────────────────────────────

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"  # also a valid Firestore document id
_ID = ID_PATTERN
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Id = Annotated[str, Field(pattern=_ID)]
Money = Decimal


class Frozen(BaseModel):
    """Base of every model: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    def to_doc(self) -> dict[str, object]:
        """The Firestore document (JSON types only: Decimal → str, datetime → ISO string)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_doc(cls, doc: dict[str, object]) -> Self:
        """Parse a Firestore document back into the model."""
        return cls.model_validate(doc)

    @classmethod
    def from_stored(cls, doc: Mapping[str, object]) -> Self:
        """A stored document read back as the model, the fields its writers keep beside the model's left aside (the
        rollup's ``open_lots``, a view's ``id``); a field of the model that is wrong still fails."""
        return cls.model_validate({k: v for k, v in doc.items() if k in cls.model_fields})


def validate_iban(iban: str) -> str:
    """Normalise an IBAN and check its length and mod-97 checksum."""
    compact = re.sub(r"\s+", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", compact):
        raise ValueError("IBAN must be a country code, 2 check digits and 10-30 letters or digits")
    digits = "".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])
    if int(digits) % 97 != 1:
        raise ValueError("IBAN check digits do not match")
    return compact


def canonical_decimal(value: Decimal) -> Decimal:
    """One spelling per number (485 == 485.0 == 485.00 → 485), so ids built from numbers are stable."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def mask_iban(iban: str, mask: str = "•") -> str:
    """An IBAN shown to people and logs: everything but the last 4 characters hidden (``mask`` each)."""
    return mask * max(0, len(iban) - 4) + iban[-4:]


# ── enums ───────────────────────────────────────────────────────────────────────────────────────────────────────────


class Right(StrEnum):
    PUT = "P"
    CALL = "C"


class Strategy(StrEnum):
    """The sheet's ``Strategia``: Long = bull put credit spread, Short = bear call credit spread."""

    BULL_PUT = "bull_put"
    BEAR_CALL = "bear_call"


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class FollowerState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class IntentState(StrEnum):
    PLANNED = "planned"
    SUBMITTED = "submitted"
    WORKING = "working"
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        """No further broker event can change this state."""
        return self in _FINAL_STATES


_FINAL_STATES = frozenset(
    {IntentState.FILLED, IntentState.PARTIALLY_FILLED, IntentState.CANCELLED, IntentState.REJECTED,
     IntentState.SKIPPED}
)


class IntentKind(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"
    CLOSE_ORPHAN = "close_orphan"
    FLATTEN = "flatten"


class AssignmentState(StrEnum):
    NONE = "NONE"
    ASSIGNED = "ASSIGNED"
    COMPENSATED = "COMPENSATED"


class CommandKind(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    FLATTEN_REQUEST = "flatten_request"
    FLATTEN_CONFIRM = "flatten_confirm"
    CLOSE_FOLLOWER = "close_follower"
    RECONCILE = "reconcile"


# ── configuration documents ─────────────────────────────────────────────────────────────────────────────────────────


GATEWAY_ID_PATTERN = r"^[a-z][a-z0-9-]{0,30}$"  # names the gateway's container, units and login secret
GATEWAY_LOGIN_SECRET_PATTERN = r"^gateway-login-[a-z][a-z0-9-]{0,30}$"  # noqa: S105 - a secret's name, no value
_ACCOUNT = r"^[A-Z]{1,3}\d{1,12}$"


class GatewayKind(StrEnum):
    """Whose login a gateway runs: an advisor login serving many accounts, or one follower's own login."""

    ADVISOR = "advisor"
    FOLLOWER = "follower"


class EntryGate(StrEnum):
    """What a gateway's state means for a new entry on it."""

    GO = "go"  # place it
    WAIT = "wait"  # hold it until the state changes (e.g. the weekly 2FA), within the entry window
    REFUSE = "refuse"  # skip it with a reason: the gateway is not running


class GatewayState(StrEnum):
    """What the supervisor on the gateway VM last saw of a gateway's IB Gateway container."""

    STARTING = "starting"  # container started, the API handshake does not complete yet
    WAITING_FOR_2FA = "waiting_for_2fa"  # IBC reported "Second Factor Authentication initiated": approve on IBKR mobile
    LOGGED_IN = "logged_in"  # the API handshake completes (accounts and next order id arrived)
    FAILED = "failed"  # login refused, no login secret, container crashing, or the VM is full (see detail)
    STOPPED = "stopped"  # the supervisor stopped its container (the document is being removed)

    @property
    def entries(self) -> EntryGate:
        """Whether entries on a gateway in this state go, wait or are refused."""
        if self is GatewayState.LOGGED_IN:
            return EntryGate.GO
        if self in (GatewayState.STARTING, GatewayState.WAITING_FOR_2FA):
            return EntryGate.WAIT
        return EntryGate.REFUSE


class GatewayStatus(Frozen):
    """The supervisor's report on one gateway (``gateways/{id}.status``; only the supervisor writes it)."""

    state: GatewayState
    since: AwareDatetime  # when it entered ``state``
    checked_at: AwareDatetime  # the supervisor's last look
    vm: str = Field(min_length=1, max_length=63)
    detail: str = Field(default="", max_length=500)
    accounts_seen: tuple[str, ...] = ()  # managedAccounts of the last completed API handshake


class GatewayRestartWanted(Frozen):
    """The executor asks the gateway's supervisor for a restart (``gateways/{id}.restart_wanted``): a data farm has
    stayed broken since ``since`` while the gateway is otherwise up."""

    at: AwareDatetime  # when it was asked; a container started later has answered it
    since: AwareDatetime
    why: str = Field(max_length=500)


class Gateway(Frozen):
    """One IB Gateway (API socket) the executor connects to; ``gateways/{id}``, edited from the web app.

    ``vm`` names the gateway VM whose supervisor runs its container with the login ``secret_name``; a gateway
    without ``vm`` is not supervised (a gateway started by hand, or a local simulator) and has no ``status``.
    """

    id: Id
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    client_id: int = Field(ge=0, le=999)
    mode: str = Field(default="paper", pattern="^(paper|live)$")  # IBKR trading mode of the login
    secret_name: str | None = Field(default=None, pattern=GATEWAY_LOGIN_SECRET_PATTERN)  # the login's secret (name)
    kind: GatewayKind = GatewayKind.ADVISOR
    accounts: tuple[Annotated[str, Field(pattern=_ACCOUNT)], ...] = ()  # accounts the login serves; () = not listed
    vm: str | None = Field(default=None, min_length=1, max_length=63)
    vnc_port: int | None = Field(default=None, ge=1, le=65535)
    status: GatewayStatus | None = None
    restart_wanted: GatewayRestartWanted | None = None  # written by the executor only
    # an operator approved restarting its hung container during trading hours (the supervisor asks; admin API)
    restart_approved_at: AwareDatetime | None = None
    restart_approved_by: str | None = Field(default=None, max_length=200)
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one_account_per_follower_login(self) -> Gateway:
        if self.kind is GatewayKind.FOLLOWER and len(self.accounts) > 1:
            raise ValueError("a follower's own gateway serves exactly one account")
        return self

    def serves(self, account: str) -> bool:
        """Whether ``account`` is one this gateway's login serves (a gateway that lists none serves any)."""
        return not self.accounts or account in self.accounts

    def entry_gate(self) -> EntryGate:
        """Go, wait or refuse for a new entry: by the supervisor's state; unsupervised gateways always go."""
        if self.vm is None:
            return EntryGate.GO
        if self.status is None:
            return EntryGate.WAIT  # supervised but not reported yet: its container is being started
        return self.status.state.entries


class GatewayVm(Frozen):
    """A gateway VM's supervisor report (``gateway_vms/{name}``): how many gateways it can run and runs."""

    name: str = Field(min_length=1, max_length=63)
    capacity: int = Field(ge=0, le=64)  # IB Gateway containers this VM can hold (from its memory, or a setting)
    memory_mb: int = Field(ge=0)
    running: tuple[str, ...] = ()  # gateway ids whose containers run now
    at: AwareDatetime


class Follower(Frozen):
    """An investor whose IBKR account copies the strategy."""

    id: Id
    name: str = Field(min_length=1, max_length=200)
    email: str
    iban: Annotated[str, AfterValidator(validate_iban)]
    commission_pct: Decimal = Field(ge=0, le=100, description="percent of net gain above the high-water mark")
    enabled: bool = True
    state: FollowerState = FollowerState.ACTIVE
    gateway_id: Id
    ibkr_account: str = Field(pattern=r"^[A-Z]{1,3}\d{1,12}$")
    multiplier: Decimal = Field(default=Decimal(1), gt=0, le=100)
    max_contracts: int = Field(default=10, ge=0, le=1000)
    daily_loss_limit: Decimal = Field(default=Decimal(2000), ge=0)
    ibkr_secret_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,255}$")
    created_at: AwareDatetime | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("not an email address")
        return value.lower()


# ── trading ─────────────────────────────────────────────────────────────────────────────────────────────────────────


class Spread(Frozen):
    """A vertical credit spread: sell ``short_strike``, buy ``long_strike``, same right and expiry."""

    strategy: Strategy
    short_strike: Decimal = Field(gt=0)
    long_strike: Decimal = Field(gt=0)

    @field_validator("short_strike", "long_strike")
    @classmethod
    def _canonical(cls, value: Decimal) -> Decimal:
        return canonical_decimal(value)

    @property
    def right(self) -> Right:
        return Right.PUT if self.strategy is Strategy.BULL_PUT else Right.CALL

    @property
    def width(self) -> Decimal:
        return abs(self.short_strike - self.long_strike)

    @model_validator(mode="after")
    def _strike_order(self) -> Spread:
        if self.strategy is Strategy.BULL_PUT and not self.short_strike > self.long_strike:
            raise ValueError("bull put spread: Sell Put must be above Buy Put")
        if self.strategy is Strategy.BEAR_CALL and not self.short_strike < self.long_strike:
            raise ValueError("bear call spread: Sell Call must be below Buy Call")
        return self


def make_signal_id(day: date, ticker: str, spread: Spread, qty_per_leg: int) -> str:
    """Deterministic id of a day's signal: readable, and a hash so two shapes never collide."""
    canon = f"{day.isoformat()}|{ticker}|{spread.strategy}|{spread.short_strike}|{spread.long_strike}|{qty_per_leg}"
    digest = hashlib.sha256(canon.encode()).hexdigest()[:8]
    return f"{day:%Y%m%d}-{ticker}-{spread.strategy}-{digest}"


class Signal(Frozen):
    """The strategist's trade for one day."""

    signal_id: Id
    date: date
    ticker: str = Field(pattern=r"^[A-Z]{1,6}$")
    spread: Spread
    qty_per_leg: int = Field(gt=0, le=1000)
    source_row: int | None = Field(default=None, ge=1)
    detected_at: AwareDatetime

    @model_validator(mode="after")
    def _id_matches(self) -> Signal:
        if self.signal_id != make_signal_id(self.date, self.ticker, self.spread, self.qty_per_leg):
            raise ValueError("signal_id does not match the signal's content")
        return self


class StateChange(Frozen):
    state: IntentState
    at: AwareDatetime
    note: str = ""


def make_intent_id(signal_id: str, follower_id: str, kind: IntentKind = IntentKind.ENTRY) -> str:
    """Deterministic intent id = the IB ``orderRef`` (one per signal × follower × purpose)."""
    return f"{kind}-{signal_id}-{follower_id}"


class OrderIntent(Frozen):
    """What SpreadPilot means to do at the broker for one follower; recorded before any order goes out."""

    intent_id: Id
    kind: IntentKind = IntentKind.ENTRY
    signal_id: Id
    follower_id: Id
    gateway_id: Id
    account: str
    symbol: str = Field(default="QQQ", pattern=r"^[A-Z]{1,6}$")  # the underlying, from the signal's ticker
    spread: Spread
    expiry: date
    contracts: int = Field(ge=0)
    state: IntentState = IntentState.PLANNED
    history: tuple[StateChange, ...] = ()
    order_id: int | None = None
    perm_id: int | None = None
    limit: Decimal | None = None  # the combo limit last sent (negative = credit when buying a credit combo)
    ladder_step: int = 0
    filled_qty: int = 0
    avg_price: Decimal | None = None  # credit per spread received (positive)
    signal_mid: Decimal | None = None  # the signal's first mid credit, where every follower's ladder started
    reason: str = ""
    created_at: AwareDatetime
    updated_at: AwareDatetime

    def moved_to(self, state: IntentState, at: datetime, note: str = "", **changes: object) -> OrderIntent:
        """A copy in ``state`` with the change appended to the history."""
        history = (*self.history, StateChange(state=state, at=at, note=note))
        return self.model_copy(update={"state": state, "history": history, "updated_at": at, **changes})


def execution_key(exec_id: str) -> str:
    """The identity of an execution across IB's corrections: its execId without the last dotted segment.

    IB corrects an execution by repeating it with an execId that differs only after the last period
    (``0000e0d5.6554c5ab.01.01`` → ``….01.02``): the correction replaces what it corrects, it does not add.
    """
    head, dot, _ = exec_id.rpartition(".")
    return head if dot and head.count(".") >= 1 else exec_id


def execution_revision(exec_id: str) -> tuple[int, str]:
    """Orders the versions of one execution (a later correction has a higher last segment)."""
    last = exec_id.rpartition(".")[2]
    try:
        return int(last, 16), exec_id
    except ValueError:
        return -1, exec_id


class Fill(Frozen):
    """One execution in a follower's account (executions are the truth for fills).

    Ours carry the intent (``intent_id`` = ``order_ref``); a foreign one (a trade by hand, another client's order)
    has ``foreign`` set, our ``intent_id`` empty and whatever ``order_ref`` the broker reported.
    """

    exec_id: str
    intent_id: str
    order_ref: str = ""
    foreign: bool = False
    follower_id: Id
    account: str
    perm_id: int | None = None
    con_id: int
    symbol: str = "QQQ"
    sec_type: str = "OPT"
    right: Right | None = None
    strike: Decimal | None = None
    expiry: date | None = None
    side: str = Field(pattern="^(BOT|SLD)$")
    qty: int = Field(gt=0)
    price: Decimal
    commission: Decimal = Decimal(0)
    realized_pnl: Decimal | None = None
    at: AwareDatetime


class PositionLeg(Frozen):
    con_id: int
    symbol: str = "QQQ"
    sec_type: str = "OPT"
    right: Right | None = None
    strike: Decimal | None = None
    expiry: date | None = None
    qty: int  # signed: negative = short
    avg_cost: Decimal = Decimal(0)


class Position(Frozen):
    """A follower's spread (or what is left of it) as the broker reports it."""

    follower_id: Id
    account: str
    signal_id: str | None = None
    spread: Spread | None = None
    legs: tuple[PositionLeg, ...] = ()
    assignment: AssignmentState = AssignmentState.NONE
    updated_at: AwareDatetime


class PnLSnapshot(Frozen):
    """Mark-to-market from broker P&L for one follower at one instant."""

    follower_id: Id
    account: str
    at: AwareDatetime
    daily_pnl: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal


class Reconciliation(StrEnum):
    """Whether a day's P&L from the ledger agrees with what the broker reported, to the cent."""

    RECONCILED = "reconciled"
    UNRECONCILED = "unreconciled"  # alerted; the month's statement waits until a re-run reconciles it
    UNCHECKED = "unchecked"  # no broker reading to compare with


class DailyPnL(Frozen):
    """One follower's day from the account ledger; amounts in cents (``realized_pnl`` = gross − commissions)."""

    follower_id: Id
    date: date
    realized_pnl: Decimal
    commissions: Decimal
    closing_mtm: Decimal
    best_mtm: Decimal
    worst_mtm: Decimal
    trades: int = Field(ge=0)
    computed_at: AwareDatetime
    gross_pnl: Decimal | None = None
    unrealized_pnl: Decimal = Decimal(0)  # lots open after the day at its closing marks, over their opening price
    settlements: int = Field(default=0, ge=0)  # assignments, exercises and expiries booked that day
    reconciliation: Reconciliation = Reconciliation.UNCHECKED
    broker_realized_pnl: Decimal | None = None
    reconciliation_note: str = ""
    # the day's entry against every follower's of the same signal (spreadpilot.fill_quality), None without a fill
    fill_vs_best: Decimal | None = None  # credit per spread − the best credit any follower got (≤ 0)
    fill_seconds: Decimal | None = None  # from the entry's intent to its complete fill, business seconds


class MonthlyStatement(Frozen):
    """One follower's month: figures in cents, the fee basis and the commission billed at the month's rate.

    ``net_pnl`` (the fee basis) = ``realized_pnl`` + ``unrealized_change`` (the change of the open lots' value at the
    month's last close); ``equity_*`` is the cumulative net P&L since the follower joined.
    """

    follower_id: Id
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    net_pnl: Decimal
    best_day: Decimal
    worst_day: Decimal
    winning_days: int = Field(ge=0)
    losing_days: int = Field(ge=0)
    win_rate: Decimal
    max_drawdown: Decimal
    hwm_before: Decimal
    hwm_after: Decimal
    commission_pct: Decimal
    commission: Decimal
    computed_at: AwareDatetime
    realized_pnl: Decimal | None = None
    unrealized_change: Decimal = Decimal(0)
    unrealized_end: Decimal = Decimal(0)
    equity_before: Decimal | None = None
    equity_after: Decimal | None = None
    billable_gain: Decimal = Decimal(0)
    days: int = Field(default=0, ge=0)
    unreconciled_days: tuple[date, ...] = ()


# ── operations ──────────────────────────────────────────────────────────────────────────────────────────────────────


class Alert(Frozen):
    """Something an operator may need to know; routed by severity."""

    alert_id: Id
    type: str = Field(pattern=r"^[a-z][a-z0-9_.]{1,63}$")
    severity: Severity
    message: str = Field(min_length=1, max_length=4000)
    at: AwareDatetime
    source: str = Field(min_length=1, max_length=64)
    follower_id: str | None = None
    signal_id: str | None = None
    order_ref: str | None = None
    context: dict[str, str] = Field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        """Identical alerts (same type, severity and subject) collapse within a cooldown."""
        return "|".join((self.type, self.severity, self.follower_id or "", self.signal_id or "",
                         self.order_ref or "", self.message))


class Command(Frozen):
    """An operator's instruction to the executor; persisted, audited and idempotent by ``command_id``."""

    command_id: Id
    kind: CommandKind
    scope: str = Field(default="all", pattern=r"^(all|[A-Za-z0-9][A-Za-z0-9_.:-]{0,127})$")
    issued_by: str = Field(min_length=1, max_length=200)
    issued_at: AwareDatetime
    source: str = Field(pattern=r"^(telegram|web|console|api|system|test)$")
    reason: str = Field(default="", max_length=1000)
    confirm_code: str | None = Field(default=None, pattern=r"^[A-Z0-9]{4,12}$")
