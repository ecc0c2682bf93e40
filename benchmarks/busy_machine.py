"""A live run beside CPU-bound programs: its speed without and with ``APP_TRAINING_CPUS``.

Each round runs every setting in turn (interleaved, so a drift in the machine's load hits all alike):
  1. start ``--hogs`` CPU-bound Python processes at normal priority (what a busy laptop runs beside the app);
  2. start the server with the setting (``APP_TIMING_FILE`` on);
  3. open the training lab in headless Chromium, press Start, let it train ``--train-s`` seconds;
  4. read the server's own tick records: seconds from Start to the first answered tick, steps/s per model
     over the window (gaps between ticks included), the worker's CPU share; and whether the page shows
     its busy-machine note;
  5. close the page, the server and the hogs.
Settings: ``nice`` (the default: workers at nice +10 on any core), ``split`` (``APP_TRAINING_CPUS=1``: the
workers on the last core at normal priority, the server on the others) and ``alone`` (``nice`` without hogs).
Prints each setting's per-round figures, medians, and the ratio of medians against ``nice``.

Run: ``python -m benchmarks.busy_machine --rounds 2 --train-s 60`` (from the repository root)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.classroom_load import CHROMIUM_ARGS, Phase, free_port, open_student, server_side, start_server

SETTINGS = {"nice": {}, "split": {"APP_TRAINING_CPUS": "1"}, "alone": {}}
HOG = "while True: pass"


def one_round(browser, setting: str, hogs: int, steps: int, train_s: float) -> dict:
    """One setting once: hogs, server, one student pressing Start; what the server and the page showed."""
    burners = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(0 if setting == "alone" else hogs)]
    timing = Path(tempfile.mkdtemp(prefix="busy_machine_")) / "timing.jsonl"
    port = free_port()
    server = start_server(port, {"STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "APP_TIMING_FILE": str(timing),
                                 **SETTINGS[setting]})
    ctx = None
    try:
        ctx, page = open_student(browser, f"http://127.0.0.1:{port}", steps, start=False)
        with Phase() as window:
            page.get_by_role("button", name="Start", exact=True).click()
            time.sleep(train_s)
        note = page.get_by_text("This machine is busy", exact=False).count() > 0
        ticks = [r for r in map(json.loads, timing.read_text().splitlines()) if r["kind"] == "tick"]
        first = min((r["time"] for r in ticks if r["time"] >= window.start), default=None)
        seen = server_side(timing, window)
        return {"setting": setting, "first_tick_s": None if first is None else first - window.start,
                "steps_per_s": seen["steps_per_s_per_run"][0] if seen["steps_per_s_per_run"] else 0.0,
                "cpu_share": seen["cpu_share_per_run"][0] if seen["cpu_share_per_run"] else None,
                "busy_note": note, "load": os.getloadavg()[0]}
    finally:
        if ctx is not None:
            ctx.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        for burner in burners:
            burner.kill()
            burner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", default="nice,split", help=f"comma-separated, from {','.join(SETTINGS)}")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--hogs", type=int, default=2, help="CPU-bound processes at normal priority beside the server")
    parser.add_argument("--steps", type=int, default=2000, help="steps per run (the CPU classroom preset: 2000)")
    parser.add_argument("--train-s", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = [s.strip() for s in args.settings.split(",")]
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        parser.error(f"unknown settings {sorted(unknown)}; choose from {','.join(SETTINGS)}")

    from playwright.sync_api import sync_playwright

    rows, load_before = [], os.getloadavg()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for r in range(args.rounds):
            for setting in settings:
                rows.append(one_round(browser, setting, args.hogs, args.steps, args.train_s))
                print(f"round {r + 1} {setting}: {rows[-1]}", file=sys.stderr, flush=True)
        browser.close()
    if args.json:
        print(json.dumps({"rows": rows, "load_before": load_before, "load_after": os.getloadavg()}))
        return
    med = {s: statistics.median(r["steps_per_s"] for r in rows if r["setting"] == s) for s in settings}
    for s in settings:
        mine = [r for r in rows if r["setting"] == s]
        firsts = [r["first_tick_s"] for r in mine if r["first_tick_s"] is not None]
        print(f"{s:>6}: steps/s per model {[round(r['steps_per_s'], 2) for r in mine]} (median {med[s]:.2f}); "
              f"first tick after {[round(x) for x in firsts]} s; worker CPU share "
              f"{[None if r['cpu_share'] is None else round(r['cpu_share'], 2) for r in mine]}; busy note shown "
              f"{sum(r['busy_note'] for r in mine)}/{len(mine)}; load {[round(r['load'], 1) for r in mine]}")
    if "nice" in med and med["nice"] > 0:
        print("ratio of medians vs nice: " + ", ".join(f"{s} {med[s] / med['nice']:.2f}" for s in settings if s != "nice"))
    print(f"{args.hogs} hogs; machine: {os.cpu_count()} CPUs; load average before {load_before[0]:.1f}, after "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
