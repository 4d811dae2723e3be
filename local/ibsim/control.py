"""A small HTTP JSON control endpoint (tests, the demo, a curious human with curl).

    GET  /state                                   → Simulator.state()
    GET  /journal                                 → {"events": [...]} (what the journal holds in memory)
    POST /price    {"price": 481.5 | null}        → pin QQQ (null: back to the scenario path)
    POST /path     {"date": "2026-03-18", "underlying": {"09:30": 487.2, ...}}  → that day's QQQ path
    POST /advance  {"seconds": 60}                → move simulated time forward
    POST /fault    {"kind": "...", ...params}     → inject a fault now (kinds in faults.py)
    POST /funds    {"account": "DU001", "cash": "1000"}
    POST /fills    {"mode": "immediate|delayed|partial|never", "delay_s": 1.0, "slippage": "0.02"}
Every answer is JSON; errors are 400 with {"error": "..."}.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date
from decimal import Decimal
from typing import Any

from ibsim.market import parse_path
from ibsim.simulator import Simulator

log = logging.getLogger("ibsim.control")


def handle(sim: Simulator, method: str, path: str, body: dict[str, Any]) -> Any:
    """Route one control request to the simulator; raises ValueError/KeyError on bad input."""
    if method == "GET" and path == "/state":
        return sim.state()
    if method == "GET" and path == "/journal":
        return {"events": sim.journal.events}
    if method != "POST":
        raise ValueError(f"unknown endpoint {method} {path}")
    if path == "/price":
        sim.set_price(None if body.get("price") is None else float(body["price"]))
    elif path == "/path":
        knots = parse_path({str(k): float(v) for k, v in dict(body["underlying"]).items()})
        sim.market.days[date.fromisoformat(str(body["date"]))] = knots
    elif path == "/advance":
        sim.advance(float(body["seconds"]))
    elif path == "/fault":
        params = {k: v for k, v in body.items() if k != "kind"}
        return sim.inject(str(body["kind"]), **params)
    elif path == "/funds":
        sim.set_funds(str(body["account"]), Decimal(str(body["cash"])))
    elif path == "/fills":
        slippage = Decimal(str(body["slippage"])) if "slippage" in body else None
        delay = float(body["delay_s"]) if "delay_s" in body else None
        sim.set_fills(body.get("mode"), delay, slippage)
    else:
        raise ValueError(f"unknown endpoint {method} {path}")
    return {"ok": True}


async def _serve_one(sim: Simulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        request_line = (await reader.readline()).decode().split()
        headers: dict[str, str] = {}
        while (line := (await reader.readline()).decode().strip()):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        raw = await reader.readexactly(length) if length else b""
        method, path = request_line[0], request_line[1].split("?")[0]
        try:
            status, payload = 200, handle(sim, method, path, json.loads(raw) if raw else {})
        except (ValueError, KeyError, TypeError) as exc:
            status, payload = 400, {"error": str(exc)}
        data = json.dumps(payload, default=str).encode()
        writer.write(f"HTTP/1.1 {status} {'OK' if status == 200 else 'Bad Request'}\r\nContent-Type: "
                     f"application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, IndexError):
        log.debug("control client went away")
    finally:
        writer.close()


async def serve_control(sim: Simulator, host: str, port: int) -> asyncio.Server:
    """Start the control endpoint; port 0 picks a free one (read it from the returned server)."""
    return await asyncio.start_server(lambda r, w: _serve_one(sim, r, w), host, port)
