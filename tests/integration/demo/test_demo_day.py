"""`make demo` as a test: one fast simulated day with every built stage, checked against the broker's journal."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
# x180, as the money days: at x360 an entry delayed by a busy machine (make test's other parts run meanwhile) met a
# market a few business minutes on, and its ladder could run out before the rising underlying let it fill
SPEED = "180"


def test_a_simulated_day_runs_through_and_every_follower_gets_one_filled_order_at_the_broker(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--followers", "3", "--speed", SPEED, "--out", str(out),
         "--state-dir", str(tmp_path / "state")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["ran_through"] is True
    assert summary["not_built"] == []
    assert len(summary["signals"]) == 1
    entries = [o for o in summary["orders"] if o["kind"] == "entry"]
    assert sorted(o["follower_id"] for o in entries) == ["f01", "f02", "f03"]
    assert all(o["status"] == "filled" and o["broker_orders"] == 1 for o in entries)
    assert summary["broker_check"]["duplicate_order_refs"] == {}
    # A quiet day: the spreads expire worthless, so nothing may wake an operator (e.g. expiry taken for assignment).
    assert [a for a in summary["alerts"] if a["severity"] == "CRITICAL"] == []
    assert len(summary["daily_pnl"]) == 3
    assert len(summary["statements"]) == 3
    assert all(s["emailed"] for s in summary["statements"])
    assert list(out.glob("ibsim-*.jsonl"))


def test_a_half_day_closes_pinned_spreads_at_12_55_and_nothing_is_left_to_settle_at_the_13_00_close(
        tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--scenario", "local/scenarios/half-day.yaml", "--speed", SPEED,
         "--out", str(out), "--state-dir", str(tmp_path / "state")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["ran_through"] is True
    assert summary["date"] == "2026-11-27"
    filled = {o["follower_id"] for o in summary["orders"] if o["kind"] == "entry" and o["status"] == "filled"}
    exits = {o["follower_id"]: o for o in summary["orders"] if o["kind"] == "exit"}
    assert filled == {"f01", "f02", "f03"}
    assert set(exits) == filled
    # the monitor's first pass from 12:55 on (a pass every monitor_s: it may land a minute later)
    assert {fid: (o["status"], re.search(r"^pin risk: .* at 12:5[5-9]$", o["reason"]) is not None)
            for fid, o in exits.items()} == {fid: ("filled", True) for fid in filled}, exits
    journal = [json.loads(line) for path in out.glob("ibsim-*.jsonl")
               for line in path.read_text(encoding="utf-8").splitlines()]
    close = "2026-11-27T18:00:00+00:00"  # 13:00 ET (EST): the day's options stop trading
    exit_fills = [e["ts"] for e in journal if e["event"] == "fill" and str(e.get("order_ref", "")).startswith("exit-")]
    assert exit_fills
    assert all(ts < close for ts in exit_fills)
    assert [e for e in journal if e["event"] == "expiry"] == []  # every spread was closed before the close


def _night(tmp_path: Path, name: str, times: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The restart-night scenario, its span and fault times replaced by ``times`` (old → new), played at x60 (the
    demo's 5 real seconds of alert slack are 5 business minutes then, less than IBC's 10-minute restart window)."""
    raw = yaml.safe_load((ROOT / "local/scenarios/restart-night.yaml").read_text(encoding="utf-8"))
    raw["start"], raw["end"] = times.pop("start"), times.pop("end")
    raw["faults"] = [{**f, "at": times.get(f["at"], f["at"])} for f in raw["faults"]]
    scenario = tmp_path / f"{name}.yaml"
    scenario.write_text(yaml.safe_dump(raw), encoding="utf-8")
    out, state = tmp_path / name, tmp_path / f"{name}-state"
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--scenario", str(scenario), "--speed", "60", "--out", str(out),
         "--state-dir", str(state)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["ran_through"] is True
    log = [json.loads(line) for line in (state / "logs/executor.log").read_text(encoding="utf-8").splitlines()
           if line.startswith("{")]
    return summary, log


def test_the_nightly_ibc_restart_and_the_ibkr_reset_page_no_one_and_the_same_outages_at_11_00_page_critical(
        tmp_path: Path) -> None:
    summary, log = _night(tmp_path, "night", {"start": "23:40", "end": "00:45"})
    assert [e.split(" ", 2)[2] for e in summary["events"]] == ["fault disconnect", "fault nightly_reset"]
    assert [a for a in summary["alerts"] if a["severity"] == "CRITICAL"] == []
    # each outage logged with the window it was expected in, and the gateway reconciled and ready after it
    lost = [(e["message"], e["expected_in"]) for e in log
            if e["message"] == "gateway disconnected" or (e["message"] == "gateway connectivity" and e["code"] == 1100)]
    assert lost[:2] == [("gateway disconnected", "IBC daily restart"), ("gateway connectivity", "IBKR daily reset")]
    ready = [e["why"] for e in log if e["message"] == "gateway ready"]
    assert ready == ["connected", "connected", "reconcile requested"]

    summary, log = _night(tmp_path, "day", {"start": "10:55", "end": "11:35", "23:45": "11:00", "00:30": "11:20"})
    critical = [a for a in summary["alerts"] if a["severity"] == "CRITICAL"]
    # the executor pages each outage once (the watchdog, which ticks 09:00-16:59 only, pages the stale heartbeat too)
    assert {a["type"] for a in critical} == {"gateway.disconnected"}, critical
    assert len([a for a in critical if re.fullmatch(r"gateway gw-advisor down for \d+ s", a["message"])]) == 2
    assert [e["why"] for e in log if e["message"] == "gateway ready"] == ["connected", "connected",
                                                                         "reconcile requested"]
