"""UI overhead of the training lab: steps/s of the live page against bare ``Trainer.step`` on one preset.

Issue 3 target: the page reaches at least 90 % of the bare (CLI-style) steps per second.

Both sides train the same comparison (one Trainer per loss, same config and seed) over the *same*
step ranges, so evaluations (every ``eval_every`` steps) cost both sides alike. Rounds alternate:
the page advances for about ``--window`` seconds (n steps per run), then fresh-but-synchronised bare
trainers do the same n steps per run with ``Trainer.step(n)``, as the CLI does. Per round the ratio
is bare time / page time for equal work; the script prints the medians and the median ratio.

Modes:
  ``apptest`` (default): the page script under Streamlit's AppTest. Every ``run()`` is a *full*
      script rerun plus one tick plus all figures serialised, so this overstates the cost of the
      real fragment rerun (conservative). No browser needed; runs on a GPU box too.
  ``browser``: the real app (``streamlit run``) driven by headless Chromium: fragment timer,
      websocket and rendering all included. The page's step counter is read when it changes, so
      times are measured between tick boundaries. The browser shares this machine's CPU, which a
      classroom's student laptops would not.

Run: ``python benchmarks/ntl_lab_overhead.py [--mode browser] [--rounds 5] [--window 10]``.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.chdir(ROOT)  # AppTest resolves the page path relative to the repository root

import torch

from ntl_core.training import PRESETS, Trainer

PAGE = ROOT / "pages" / "ntl_training_lab.py"


def bare_seconds(trainers: dict[str, Trainer], n: int, in_thread: bool) -> float:
    """Wall time of ``n`` more steps of every trainer, CLI-style (one ``step(n)`` call per run).

    ``in_thread``: run them in a fresh worker thread, as Streamlit runs the page script. On a busy
    machine torch's OpenMP pool makes the *main* thread several times slower than a worker thread
    at the same thread count (measured here: 2 threads, load 10: 7.8 s vs 0.4 s for 5 tiny steps),
    which is not UI overhead; ``--bare-in main`` shows that CLI-as-launched number too.
    """
    def work() -> None:
        for tr in trainers.values():
            tr.step(n)

    start = time.perf_counter()
    if in_thread:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    else:
        work()
    return time.perf_counter() - start


def sync(trainers: dict[str, Trainer], step: int) -> None:
    """Bring the bare trainers (untimed) to the page's step, so both sides cover the same step range."""
    for tr in trainers.values():
        if tr.step_count < step:
            tr.step(step - tr.step_count)


class AppTestPage:
    """The page under AppTest: one ``run()`` = full script rerun + one training tick."""

    def __init__(self, params: dict[str, str]):
        from streamlit.testing.v1 import AppTest

        self.at = AppTest.from_file(str(PAGE), default_timeout=900)
        self.at.query_params.update(params)
        self.at.run()
        self.at.button(key="lab_start").click().run()
        self.lab = self.at.session_state["lab"]

    @property
    def step(self) -> int:
        return self.lab.progress.get("step", 0)

    def advance(self, window: float) -> tuple[int, int, float]:
        """Tick for about ``window`` seconds; returns (start step, steps per run, seconds)."""
        s0, t0 = self.step, time.perf_counter()
        while time.perf_counter() - t0 < window and not self.lab.finished:
            self.at.run()
        return s0, self.step - s0, time.perf_counter() - t0

    def close(self) -> None:
        self.at.button(key="lab_reset").click().run()


class BrowserPage:
    """The real app in headless Chromium; Resume/Pause around each measured window."""

    METRIC = "[data-testid='stMetric']"

    def __init__(self, params: dict[str, str]):
        with socket.socket() as probe:  # a free port: never talk to a server some earlier run left behind
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
             str(port), "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self._open(f"http://127.0.0.1:{port}", params)
        except BaseException:
            self.server.terminate()
            raise

    def _open(self, url: str, params: dict[str, str]) -> None:
        from playwright.sync_api import sync_playwright

        for _ in range(180):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(1)
        self.pw = sync_playwright().start()
        self.browser = self.pw.chromium.launch(executable_path="/usr/bin/chromium",
                                               args=["--headless", "--no-sandbox", "--disable-gpu"])
        self.page = self.browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.goto(f"{url}/ntl_training_lab?{urllib.parse.urlencode(params)}")
        self.page.get_by_text("Press Start", exact=False).first.wait_for(timeout=300_000)
        self.page.get_by_role("button", name="Step", exact=True).click()  # builds the trainers, one tick
        self.page.locator(self.METRIC).filter(has_text="Step (each run)").wait_for(timeout=300_000)

    @property
    def step(self) -> int:
        text = self.page.locator(self.METRIC).filter(has_text="Step (each run)").inner_text()
        return int(re.search(r"(\d+) / \d+", text).group(1))

    def _next_change(self, than: int, timeout_s: float = 300) -> tuple[int, float]:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            step = self.step
            if step != than:
                return step, time.perf_counter()
            time.sleep(0.02)
        raise TimeoutError("the page stopped ticking")

    def advance(self, window: float) -> tuple[int, int, float]:
        before = self.step
        self.page.get_by_role("button", name="Resume", exact=True).click()
        s0, t0 = self._next_change(before)  # first tick boundary after resuming
        time.sleep(window)
        s1, t1 = self._next_change(self.step)  # next tick boundary after the window
        self.page.get_by_role("button", name="Pause", exact=True).click()
        self.page.get_by_role("button", name="Resume", exact=True).wait_for(timeout=60_000)
        time.sleep(1.5)  # let the paused rerun finish before the bare side takes the CPU
        return s0, s1 - s0, t1 - t0

    def close(self) -> None:
        self.browser.close()
        self.pw.stop()
        self.server.terminate()
        self.server.wait(timeout=30)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run `finally`: stop the app server we started
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("apptest", "browser"), default="apptest")
    parser.add_argument("--preset", default="cpu-classroom", choices=list(PRESETS))
    parser.add_argument("--losses", default="ce,was")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--window", type=float, default=10.0, help="seconds of page training per round")
    parser.add_argument("--bare-in", choices=("thread", "main"), default="thread",
                        help="where the bare steps run: a worker thread like the page's script thread (default), "
                             "or the main thread like the CLI")
    parser.add_argument("--eval-every", type=int, default=100,
                        help="evaluation interval of both sides (the page must accept it: checked below)")
    args = parser.parse_args()

    cfg = PRESETS[args.preset].replace(seed=0, steps=20000, eval_every=args.eval_every)
    params = {"preset": args.preset, "losses": args.losses, "steps": "20000", "seed": "0", "eval": str(cfg.eval_every),
              "k": "1"}  # one seed per loss, like the bare side
    page = (AppTestPage if args.mode == "apptest" else BrowserPage)(params)
    if args.mode == "apptest" and page.lab.meta["base"].replace(loss=cfg.loss) != cfg:
        raise SystemExit(f"page config {page.lab.meta['base']} differs from the bare config {cfg}")
    bare = {loss: Trainer(cfg.replace(loss=loss)) for loss in args.losses.split(",")}
    runs = len(bare)
    print(f"mode={args.mode} preset={args.preset!r} losses={args.losses} device={next(iter(bare.values())).device} "
          f"eval_every={cfg.eval_every} bare-in={args.bare_in} torch threads={torch.get_num_threads()}", flush=True)
    page_rates, bare_rates, ratios = [], [], []
    try:
        for r in range(args.rounds):
            s0, n, page_s = page.advance(args.window)
            sync(bare, s0)
            bare_s = bare_seconds(bare, n, in_thread=args.bare_in == "thread")
            page_rates.append(runs * n / page_s)
            bare_rates.append(runs * n / bare_s)
            ratios.append(bare_s / page_s)
            print(f"round {r}: steps {s0}->{s0 + n} per run | page {page_rates[-1]:.2f} steps/s | "
                  f"bare {bare_rates[-1]:.2f} steps/s | page/bare {ratios[-1]:.3f}", flush=True)
    finally:
        page.close()
    print(f"median page {statistics.median(page_rates):.2f} steps/s, bare {statistics.median(bare_rates):.2f} "
          f"steps/s (all runs together); median per-round ratio page/bare = {statistics.median(ratios):.3f} "
          f"(target >= 0.90)")


if __name__ == "__main__":
    main()
