"""A class on one server: N browser sessions press Start on the Training lab at once.

Client: one headless Chromium with one Playwright *context* per student (separate cookies, storage and
websocket, so separate Streamlit sessions), all driven from this process. Heavier than a bare
websocket client (each context renders the page and its charts every tick), but it is what a student
runs. In class those pages render on the students' laptops; here they share the server's CPU. Two ways
to stand in for the laptops:
  * ``--client-nice`` (default 10): the students' browser starts below the server's priority (Chromium
    resets its renderers' priority, so in practice they still compete, observed): pessimistic figures;
  * ``--client-cpu CORES``: the students' browser (every process it forks) runs in a CPU cgroup capped at
    CORES cores (Linux, root, cgroup v1 ``cpu`` or v2), so it cannot take more than a stated share from
    the server, the workers and the newcomer;
  * ``--server-cpus LIST --client-cpus LIST`` (``taskset`` lists, Linux): the server and its workers on
    some cores, this script and both browsers on others, so the clients cannot take the server's cores.
A second browser, outside any cap, times the explorer like a newcomer would. The server records its own
time per page run and per training tick (``APP_TIMING_FILE``), so the explorer's load is reported twice:
server-side page-run time (p50/p95, the server's share alone) and the browser's first load (both).
``--training-cpus N`` starts the server with ``APP_TRAINING_CPUS=N``; ``--ray-nodes K`` starts a local Ray
cluster of K one-CPU worker nodes (a head with no CPUs) and points the server at it (``APP_RAY_ADDRESS``).

What it does, in order:
  1. starts ``streamlit run app.py`` with the class settings (``.streamlit/config.toml``) on a free port;
  2. measures the loss explorer's first load (navigation to the first drawn chart) in fresh contexts while
     idle, ``--probes`` times;
  3. opens ``--sessions`` contexts on the Training lab (``--steps`` per run) and presses Start in each;
  4. after ``--train-s`` seconds counts runs granted (training), queued (shown their place) and errors
     (stException elements, "internal error" messages, page crashes), reads each training page's steps/s,
     and measures the explorer's first load again with the maximum number of runs training;
  5. closes every session and waits ``--settle-s`` seconds (Streamlit drops a closed session's state
     after ``server.disconnectedSessionTTL``, lazily: when the next session arrives, which one then does;
     the page's worker reaper closes a gone session's worker after a minute).

Printed: sessions, granted/queued/errors, server RSS idle/peak/after (the web process; the workers'
RSS separately), explorer server-side page-run p50/p95 and browser first-load, idle vs loaded, steps/s per
run (the pages' and the server's ticks), the machine's load.

Run: ``python benchmarks/classroom_load.py --sessions 10`` (``--sessions 30``; ``--json`` for one line).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from labkit.cli_args import parse_cpus
from labkit.timing import TimingStore, percentile

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
CHART = "[data-testid='stPlotlyChart'] .main-svg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, env_extra: dict[str, str], cpus: frozenset[int] | None = None,
                 log: Path | None = None) -> subprocess.Popen:
    """``streamlit run app.py`` on ``port`` (on ``cpus`` only, with all it starts; its output to ``log``)."""
    env = dict(os.environ, **env_extra)
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - the server outlives this function
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not become healthy within 180 s")


class RssSampler(threading.Thread):
    """Samples the web process's RSS and its worker children's total RSS every ``period`` seconds."""

    def __init__(self, pid: int, period: float = 0.5):
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.period = period
        self.peak_web = self.peak_workers = 0
        self.max_workers = 0
        self._stop = threading.Event()

    def now(self) -> tuple[int, int, int]:
        """(web RSS, workers' RSS, number of workers) in bytes."""
        web = self.proc.memory_info().rss
        kids = []
        for child in self.proc.children(recursive=True):
            try:
                if "spawn_main" in " ".join(child.cmdline()):  # training workers, not multiprocessing's tracker
                    kids.append(child.memory_info().rss)
            except psutil.Error:
                pass
        return web, sum(kids), len(kids)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                web, workers, n = self.now()
            except psutil.Error:
                return
            self.peak_web, self.peak_workers = max(self.peak_web, web), max(self.peak_workers, workers)
            self.max_workers = max(self.max_workers, n)
            self._stop.wait(self.period)

    def stop(self) -> None:
        self._stop.set()


def chromium_pids() -> set[int]:
    """This benchmark's Chromium processes (children of this process, through Playwright's driver)."""
    out = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name().lower():
                out.add(child.pid)
        except psutil.Error:
            pass
    return out


def capped_chromium(cores: float) -> tuple[str, Path]:
    """An executable that starts Chromium inside a new CPU cgroup capped at ``cores`` (children inherit it),
    and the cgroup (remove it once the browser has exited).

    Raises:
        SystemExit: no writable CPU cgroup controller here (not Linux, not root, no cgroup mount).
    """
    period = 100_000
    v1, v2 = Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup")
    try:
        if (v1 / "cpu.cfs_quota_us").exists():
            group = v1 / f"classroom_clients_{os.getpid()}"
            group.mkdir(exist_ok=True)
            (group / "cpu.cfs_period_us").write_text(str(period))
            (group / "cpu.cfs_quota_us").write_text(str(int(cores * period)))
        elif (v2 / "cgroup.controllers").exists():
            group = v2 / f"classroom_clients_{os.getpid()}"
            group.mkdir(exist_ok=True)
            (group / "cpu.max").write_text(f"{int(cores * period)} {period}")
        else:
            raise OSError("no CPU cgroup controller mounted")
    except OSError as exc:
        raise SystemExit(f"--client-cpu needs a writable CPU cgroup (Linux, root): {exc}") from None
    wrapper = Path(f"/tmp/classroom_chromium_{os.getpid()}.sh")
    wrapper.write_text(f"#!/bin/sh\necho $$ > {group}/cgroup.procs\nexec /usr/bin/chromium \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper), group


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """User + system CPU seconds so far of each live process in ``pids``."""
    out = {}
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            out[pid] = t.user + t.system
        except psutil.Error:
            pass
    return out


def worker_pids(server_pid: int) -> set[int]:
    """The server's training workers: its spawned processes, or Ray's worker processes on this machine."""
    out = set()
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                out.add(child.pid)
        except psutil.Error:
            pass
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith("ray::"):  # actors and idle Ray workers
            out.add(proc.pid)
    return out


def local_ray_cluster(nodes: int):
    """A Ray cluster on this machine: a head with no CPUs and ``nodes`` worker nodes of one CPU each (standing in
    for machines). Returns the cluster (``.address``; call ``.shutdown()``)."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(nodes):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    return cluster


class Phase:
    """Wall-clock start and end of a phase, to cut the server's timing file."""

    def __enter__(self) -> "Phase":
        self.start = time.time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.end = time.time()


def server_side(timing: Path, phase: Phase, page: str = "ntl_explorer") -> dict:
    """What the server recorded during ``phase``: ``page``'s page-run times (p50/p95) and each run's steps/s."""
    store = TimingStore.replay(timing.read_text().splitlines(), phase.start, phase.end)
    since = phase.end - phase.start
    times = store.page_times(since).get(page, [])
    rates = store.run_rates(since)
    return {"page_runs": len(times), "p50": percentile(times, 50) if times else None,
            "p95": percentile(times, 95) if times else None,
            "steps_per_s_per_run": sorted(r.steps_per_s for r in rates.values()),
            "cpu_share_per_run": sorted(r.cpu_share for r in rates.values() if r.cpu_share is not None)}


def explorer_first_load(browser, url: str) -> float:
    """Seconds from navigation to the explorer's first drawn chart, in a fresh context (a new student)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        t0 = time.perf_counter()
        page.goto(f"{url}/ntl_explorer", timeout=600_000)
        page.locator(CHART).first.wait_for(timeout=600_000)
        return time.perf_counter() - t0
    finally:
        ctx.close()


def open_student(browser, url: str, steps: int, start: bool = True):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(f"{url}/ntl_training_lab?steps={steps}", timeout=600_000)
    page.get_by_role("button", name="Start", exact=True).wait_for(timeout=600_000)
    if start:
        page.get_by_role("button", name="Start", exact=True).click()
    return ctx, page


def state_of(page, tries: int = 3) -> tuple[str, float | None]:
    """("training" | "queued" | "finished" | "error" | "other" | "unreadable", the page's per-run steps/s when
    training). "error" is what the student sees (an exception box, "internal error"); "unreadable" is this
    client failing to read a page in time (a throttled browser), which says nothing about the server."""
    for attempt in range(tries):
        try:
            if page.locator("[data-testid='stException']").count() or \
                    page.get_by_text("internal error", exact=False).count():
                return "error", None
            if page.get_by_text("in the queue", exact=False).count():
                return "queued", None
            if page.get_by_text("Finished:", exact=False).count():
                return "finished", None
            metric = page.locator("[data-testid='stMetric']").filter(has_text="Steps/s")
            if page.get_by_role("button", name="Pause", exact=True).is_enabled(timeout=10_000):
                # Granted; before its first tick returns (the worker is still starting) there is no rate yet.
                match = re.search(r"([\d.]+)\s*$", metric.first.inner_text(timeout=10_000)) if metric.count() else None
                return "training", float(match.group(1)) if match else None
            return "other", None
        except Exception:  # noqa: BLE001 - a slow client: try again
            time.sleep(2)
    return "unreadable", None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--steps", type=int, default=2000, help="steps per run (the CPU classroom preset: 2000)")
    parser.add_argument("--train-s", type=float, default=45.0, help="seconds of training before counting")
    parser.add_argument("--settle-s", type=float, default=150.0, help="seconds to wait after closing all sessions")
    parser.add_argument("--probes", type=int, default=3, help="explorer first loads per measurement")
    parser.add_argument("--workers", type=int, default=None,
                        help="APP_CPU_WORKERS for the server (default: the app's default, 4)")
    parser.add_argument("--client-nice", type=int, default=10,
                        help="added to the students' browser's niceness (0: the clients compete with the server)")
    parser.add_argument("--client-cpu", type=float, default=None,
                        help="cap the students' browser at this many cores (a CPU cgroup; stands in for their laptops)")
    parser.add_argument("--server-cpus", type=parse_cpus, default=None,
                        help="run the server and its workers on these cores only (a taskset list, e.g. 0)")
    parser.add_argument("--client-cpus", type=parse_cpus, default=None,
                        help="run this script and both browsers on these cores only (e.g. 1)")
    parser.add_argument("--training-cpus", type=int, default=None, help="APP_TRAINING_CPUS for the server")
    parser.add_argument("--ray-nodes", type=int, default=0,
                        help="train on a local Ray cluster of this many one-CPU nodes (0: worker processes)")
    parser.add_argument("--server-log", type=Path, default=None, help="keep the server's output (its timing lines)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    timing = Path(tempfile.mkdtemp(prefix="classroom_timing_")) / "timing.jsonl"
    env = {"STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "APP_TIMING_FILE": str(timing)}
    if args.workers:
        env["APP_CPU_WORKERS"] = str(args.workers)
    if args.training_cpus:
        env["APP_TRAINING_CPUS"] = str(args.training_cpus)
    cluster = local_ray_cluster(args.ray_nodes) if args.ray_nodes else None
    if cluster is not None:
        env["APP_RAY_ADDRESS"] = cluster.address
    server = start_server(port, env, args.server_cpus, args.server_log)
    if args.client_cpus:
        os.sched_setaffinity(0, args.client_cpus)  # Playwright's driver and the browsers start from here
    sampler = RssSampler(server.pid)
    out: dict = {"sessions": args.sessions, "load_before": os.getloadavg(), "client_cpu": args.client_cpu,
                 "server_cpus": sorted(args.server_cpus or []), "client_cpus": sorted(args.client_cpus or []),
                 "training_cpus": args.training_cpus, "ray_nodes": args.ray_nodes}
    pw = sync_playwright().start()
    # Two browsers: the students' (their pages render on this machine, but in class they would render on the
    # students' laptops, so it runs at a lower priority than the server) and the probe that times the explorer
    # (a newcomer, at the server's priority).
    before = chromium_pids()
    probe = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    ours = chromium_pids() - before
    students_exe, cgroup = capped_chromium(args.client_cpu) if args.client_cpu else ("/usr/bin/chromium", None)
    browser = pw.chromium.launch(executable_path=students_exe, args=CHROMIUM_ARGS)
    for pid in chromium_pids() - before - ours:  # renderers fork from these and inherit their priority
        try:
            psutil.Process(pid).nice(min(19, psutil.Process(pid).nice() + args.client_nice))
        except psutil.Error:
            pass
    contexts = []
    try:
        # Warm-up, not a student's experience: the first loads import the libraries and fill the caches.
        explorer_first_load(probe, url)
        ctx, _ = open_student(browser, url, args.steps, start=False)
        ctx.close()
        with Phase() as idle:
            out["explorer_idle_s"] = [explorer_first_load(probe, url) for _ in range(args.probes)]
        out["server_idle"] = server_side(timing, idle)
        time.sleep(3)
        out["rss_idle"] = sampler.now()[0]
        sampler.start()

        t0 = time.perf_counter()
        pages = []
        for i in range(args.sessions):
            ctx, page = open_student(browser, url, args.steps)
            contexts.append(ctx)
            pages.append(page)
            print(f"student {i + 1}/{args.sessions} pressed Start at {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                  flush=True)
        out["open_all_s"] = time.perf_counter() - t0
        # Where the machine's CPU goes while the class trains: web server, training workers, student browsers.
        groups = {"server": lambda: {server.pid}, "workers": lambda: worker_pids(server.pid), "clients": chromium_pids}
        cpu0, t_cpu0 = {g: cpu_seconds(f()) for g, f in groups.items()}, time.perf_counter()
        with Phase() as training:
            time.sleep(args.train_s)
        cpu1, elapsed = {g: cpu_seconds(f()) for g, f in groups.items()}, time.perf_counter() - t_cpu0
        out["server_training"] = server_side(timing, training)
        for g in groups:  # processes that started during the window count from 0
            out[f"{g}_cpu_share"] = sum(v - cpu0[g].get(pid, 0.0) for pid, v in cpu1[g].items()) / elapsed
        states = [state_of(p) for p in pages]
        out["granted"] = sum(s == "training" for s, _ in states)
        out["queued"] = sum(s == "queued" for s, _ in states)
        out["finished"] = sum(s == "finished" for s, _ in states)
        out["errors"] = sum(s == "error" for s, _ in states)
        out["other"] = sum(s == "other" for s, _ in states)
        out["unreadable"] = sum(s == "unreadable" for s, _ in states)
        print(f"after {args.train_s:.0f} s: training {out['granted']}, queued {out['queued']}, errors {out['errors']}",
              file=sys.stderr, flush=True)  # partial results survive a run cut short
        with Phase() as loaded:
            out["explorer_loaded_s"] = [explorer_first_load(probe, url) for _ in range(args.probes)]
        out["server_loaded"] = server_side(timing, loaded)
        print(f"explorer first load loaded: {[round(x, 1) for x in out['explorer_loaded_s']]} s", file=sys.stderr,
              flush=True)
        # Each page's "per run" rate (its last tick; a comparison trains losses x seeds runs), after the probes.
        out["steps_per_s_per_run"] = [r for s, r in (state_of(p) for p in pages) if s == "training" and r is not None]
        out["workers_during"] = sampler.max_workers
        out["rss_workers_peak"] = sampler.peak_workers

        for ctx in contexts:
            ctx.close()
        contexts.clear()
        time.sleep(args.settle_s)
        # Streamlit drops disconnected sessions' state lazily, when the session list next changes: in class,
        # when the next student arrives. So one arrives (and loads the home page) before "after" is read.
        ctx = probe.new_context()
        ctx.new_page().goto(url, timeout=600_000)
        time.sleep(15)
        ctx.close()
        time.sleep(15)
        web, workers, n_workers = sampler.now()
        out.update(rss_peak=sampler.peak_web, rss_after=web, workers_after=n_workers, rss_workers_after=workers)
    finally:
        sampler.stop()
        for ctx in contexts:
            ctx.close()
        browser.close()
        probe.close()
        pw.stop()
        if cgroup is not None:
            try:
                cgroup.rmdir()  # empty once the students' browser has exited
            except OSError:
                pass
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        if cluster is not None:
            cluster.shutdown()
    out["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(out))
        return
    mib = lambda b: f"{b / 2**20:.0f} MiB"  # noqa: E731
    med = lambda xs: f"{statistics.median(xs):.1f} s" if xs else "–"  # noqa: E731
    idle, loaded = statistics.median(out["explorer_idle_s"]), statistics.median(out["explorer_loaded_s"])
    print(f"sessions {out['sessions']} (opened in {out['open_all_s']:.0f} s, {args.steps} steps per run); after "
          f"{args.train_s:.0f} s: runs training {out['granted']}, queued {out['queued']}, finished {out['finished']}, "
          f"errors {out['errors']}, other {out['other']}, unreadable by the slow client {out['unreadable']}")
    print(f"server RSS (web process): idle {mib(out['rss_idle'])}, peak {mib(out['rss_peak'])}, after "
          f"{mib(out['rss_after'])} ({100 * (out['rss_after'] / out['rss_idle'] - 1):+.1f} % vs idle)")
    print(f"training workers: at most {out['workers_during']} alive, peak RSS {mib(out['rss_workers_peak'])} "
          f"together; after closing: {out['workers_after']} alive")
    print(f"explorer first load (browser): idle {med(out['explorer_idle_s'])}, loaded {med(out['explorer_loaded_s'])} "
          f"(ratio {loaded / idle:.2f}; probes idle {[round(x, 1) for x in out['explorer_idle_s']]}, loaded "
          f"{[round(x, 1) for x in out['explorer_loaded_s']]})")
    si, sl = out["server_idle"], out["server_loaded"]
    if si["p95"] and sl["p95"]:
        print(f"explorer page runs (server): idle p50 {si['p50']:.2f} s, p95 {si['p95']:.2f} s ({si['page_runs']} runs); "
              f"loaded p50 {sl['p50']:.2f} s, p95 {sl['p95']:.2f} s ({sl['page_runs']} runs); p95 ratio "
              f"{sl['p95'] / si['p95']:.2f} (target <= 1.5)")
    st = out["server_training"]
    print(f"steps/s per run from the server's ticks while training: {', '.join(f'{r:.1f}' for r in st['steps_per_s_per_run']) or '–'}"
          f"; worker CPU share per run: {', '.join(f'{c:.0%}' for c in st['cpu_share_per_run']) or '–'}")
    print(f"CPU while training, in cores: web process {out['server_cpu_share']:.2f}, training workers "
          f"{out['workers_cpu_share']:.2f}, student browsers {out['clients_cpu_share']:.2f}")
    rates = out["steps_per_s_per_run"]
    print(f"steps/s per run: {', '.join(f'{r:.1f}' for r in rates) or '–'}"
          + (f" (median {statistics.median(rates):.1f})" if rates else ""))
    print(f"students' browser: {'capped at ' + format(args.client_cpu, 'g') + ' cores' if args.client_cpu else 'uncapped'}"
          f" (--client-nice {args.client_nice}); server cores {out['server_cpus'] or 'any'}, client cores "
          f"{out['client_cpus'] or 'any'}, APP_TRAINING_CPUS {args.training_cpus or 'unset'}, Ray nodes "
          f"{args.ray_nodes or 'none'}; machine: {os.cpu_count()} CPUs; load average before {out['load_before'][0]:.1f}, "
          f"after {out['load_after'][0]:.1f}")


if __name__ == "__main__":
    main()
