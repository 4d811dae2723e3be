"""The real adapters, built once per process from the settings and the environment's clock."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache

from google.api_core.exceptions import GoogleAPICallError

from signal_poller.ledger import FirestoreLedger
from signal_poller.poll import Poller, TickResult
from signal_poller.settings import PollerSettings
from signal_poller.sheet_reader import GspreadSheetReader
from signal_poller.tick import Tick
from spreadpilot import market_calendar
from spreadpilot.clock import RealClock, SimClock, clock_from_env, new_york
from spreadpilot.errors import ConfigError
from spreadpilot.logs import configure_logging
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.settings import load_settings
from spreadpilot.sheets_client import sheets_client
from spreadpilot.store import firestore_client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    settings: PollerSettings
    clock: RealClock | SimClock
    reader: GspreadSheetReader
    ledger: FirestoreLedger
    publisher: PubSubPublisher


@cache
def runtime() -> Runtime:
    """Settings, clock and adapters (a missing or invalid setting is a ``ConfigError`` naming its variable)."""
    settings = load_settings(PollerSettings)
    configure_logging("signal_poller", settings.log_level)
    info = None
    key = settings.sheets_service_account_json.get_secret_value()
    if key:
        try:
            info = json.loads(key)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"SPREADPILOT_SHEETS_SERVICE_ACCOUNT_JSON is not JSON ({exc.msg})") from exc
    clock = clock_from_env()
    built = Runtime(
        settings=settings,
        clock=clock,
        reader=GspreadSheetReader(sheets_client(info), settings.sheet_id, settings.sheet_tab),
        ledger=FirestoreLedger(firestore_client(settings.project)),
        publisher=PubSubPublisher(settings.project),
    )
    _warm_up(built)
    return built


def _warm_up(parts: Runtime) -> None:
    """Pay a cold instance's one-off costs at start-up, not inside the first tick's poll loop."""
    today = new_york(parts.clock.now()).date()
    market_calendar.is_trading_day(today)  # loads the exchange calendar (pandas): seconds on a cold instance
    try:
        parts.ledger.day_claim(today)  # opens the Firestore channel
    except GoogleAPICallError as exc:  # isolate: a start-up warm-up must not stop the instance; ticks will retry
        log.warning("Firestore warm-up failed", extra={"error": str(exc)})


def run_tick(tick: Tick) -> TickResult:
    """Run one tick's poll with the real adapters."""
    parts = runtime()
    if tick.problem:
        log.warning("tick payload not understood; polling anyway", extra={"problem": tick.problem,
                                                                           "message_id": tick.message_id})
    poller = Poller(
        settings=parts.settings,
        reader=parts.reader,
        ledger=parts.ledger,
        publisher=parts.publisher,
        clock=parts.clock,
        is_trading_day=market_calendar.is_trading_day,
    )
    return poller.run()
