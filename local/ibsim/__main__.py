"""``python -m ibsim --host 127.0.0.1 --port 4002 --accounts DU001,DU002 [--seed N] [--journal PATH] ...``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from decimal import Decimal
from pathlib import Path

from ibsim.config import FillMode, SimConfig
from ibsim.control import serve_control
from ibsim.simulator import Simulator
from spreadpilot.clock import clock_from_env


def parse_accounts(spec: str | None, path: str | None) -> list[str]:
    """Accounts from ``A,B``, a pattern with a count ``DU%03d:300`` (DU001..DU300), and/or a file (one a line)."""
    accounts: list[str] = []
    for part in (spec or "").split(","):
        part = part.strip()
        if "%" in part and ":" in part:
            pattern, count = part.rsplit(":", 1)
            accounts += [pattern % i for i in range(1, int(count) + 1)]
        elif part:
            accounts.append(part)
    if path:
        accounts += [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not accounts:
        raise SystemExit("ibsim: give --accounts or --accounts-file")
    return accounts


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="ibsim", description="IB Gateway simulator (TWS API, server version 176)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=4002, help="0 picks a free port (printed on stdout)")
    p.add_argument("--accounts", help="DU001,DU002 or DU%%03d:300")
    p.add_argument("--accounts-file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--journal")
    p.add_argument("--scenario")
    p.add_argument("--control-port", type=int, help="HTTP JSON control endpoint; 0 picks a free port")
    p.add_argument("--funds", default="100000", help="starting cash of every account")
    p.add_argument("--underlying", type=float, default=480.0, help="QQQ price when no scenario path is given")
    p.add_argument("--volatility", type=float, default=0.20)
    p.add_argument("--slippage", default="0")
    p.add_argument("--fill-mode", choices=[m.value for m in FillMode], default=FillMode.IMMEDIATE.value)
    p.add_argument("--fill-delay", type=float, default=1.0, help="simulated seconds")
    p.add_argument("--first-order-id", type=int, default=1)
    p.add_argument("--max-msg-rate", type=int, default=0, help="messages/s per client (error 100); 0: no limit")
    p.add_argument("--resubmit", choices=["on", "off"], default="on",
                   help='IB Gateway\'s "Maintain and resubmit orders when connection is restored": an order received '
                        "during error 1100 is kept and sent on 1102 (on), or rejected (off)")
    return p


async def run(config: SimConfig) -> None:
    """Serve until SIGTERM/SIGINT."""
    sim = Simulator(config, clock_from_env())
    await sim.start()
    control_port = None
    if config.control_port is not None:
        control = await serve_control(sim, config.host, config.control_port)
        control_port = control.sockets[0].getsockname()[1]
    # One line a harness can wait for and parse.
    print(f"ibsim ready port={sim.port} control_port={control_port or ''} accounts={len(config.accounts)}",
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sim.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    config = SimConfig(
        accounts=parse_accounts(args.accounts, args.accounts_file),
        host=args.host, port=args.port, control_port=args.control_port, seed=args.seed,
        journal_path=args.journal, scenario_path=args.scenario, default_funds=Decimal(args.funds),
        underlying=args.underlying, volatility=args.volatility, slippage=Decimal(args.slippage),
        fill_mode=FillMode(args.fill_mode), fill_delay_s=args.fill_delay, first_order_id=args.first_order_id,
        max_message_rate=args.max_msg_rate, resubmit_on_restore=args.resubmit == "on",
    )
    asyncio.run(run(config))


if __name__ == "__main__":
    main()
