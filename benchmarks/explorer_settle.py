"""Settle time of the loss explorer per control, driven in headless Chromium.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.explorer_settle [--reps 10]   # from the repository root

Starts ``streamlit run app.py`` on a free port, opens the explorer (peaked preset, true digit 4,
T = 1) at 1400 px and, in rotating order (interleaved, so load changes hit every control alike),
moves each control forth and back, timing from the key press / click to "settled":

* server path (a Streamlit rerun): *true digit* slider, *temperature* slider, *z4* logit slider,
  *preset* box. Settled = the CE metric shows the value ``ntl_core.scoring`` gives for the new
  state AND Streamlit's status widget is idle (the rerun, all four charts included, has finished).
* instant panel (browser only): its *z4* slider. Settled = the next painted frame after the input
  event, measured in the page (``performance.now() - event.timeStamp``).

Prints the median and the 90th percentile per control in ms, and the load average: on a shared
machine the server numbers move with the load, so quote them with it.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections import defaultdict

from ntl_core.scoring import PRESET_LABELS, preset_logits, score_digit
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, running_app, wait_for_app

IDLE_JS = ("() => !document.querySelector(\"[data-testid='stStatusWidget']\")"
           " || !document.querySelector(\"[data-testid='stStatusWidget']\").innerText.includes('Running')")


def _ce(preset: str, target: int, temp: float, bump: float = 0.0) -> str:
    logits = [round(float(v), 2) for v in preset_logits(preset, target, temp)]  # as the page's 0.01 sliders hold them
    logits[target] = round(logits[target] + bump, 2)
    return f"{score_digit(target, logits=logits).losses['CE']:.4f}"


def _settle(page, ce: str, start: float) -> float:
    page.locator("[data-testid='stMetric']", has_text="CE").filter(has_text=ce).first.wait_for(timeout=60_000)
    page.wait_for_function(IDLE_JS, timeout=60_000)
    return (time.perf_counter() - start) * 1000


def _key(page, slider, key: str, ce: str) -> float:
    slider.focus()
    start = time.perf_counter()
    slider.press(key)
    return _settle(page, ce, start)


def _choose(page, label: str, ce: str) -> float:
    page.locator("[data-testid='stSelectbox']").filter(has_text="Preset distribution").click()
    option = page.get_by_role("option", name=label)
    start = time.perf_counter()
    option.click()
    return _settle(page, ce, start)


def _instant(frame, key: str) -> float:
    # The panel is rebuilt (counter back to 0) whenever a server rerun changes its starting distribution.
    frame.locator("body[data-ready='1']").wait_for(timeout=30_000)
    count = int(frame.locator("body").get_attribute("data-updates") or 0) + 1
    slider = frame.get_by_label("instant logit z4")
    slider.focus()
    slider.press(key)
    frame.locator(f"body[data-updates='{count}']").wait_for(timeout=10_000)
    return float(frame.locator("body").get_attribute("data-settle-ms"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = defaultdict(list)
    with running_app() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(f"{url}/ntl_explorer?preset=peaked&target=4&temp=1")
        wait_for_app(page)
        page.get_by_text("Fine-tune the logits", exact=False).click()
        page.get_by_text("Instant sandbox", exact=False).first.click()
        frame = page.frame_locator("iframe").first
        frame.locator("body[data-ready='1']").wait_for(timeout=30_000)
        target = page.get_by_role("slider", name=re.compile("True digit"))
        temp = page.get_by_role("slider", name=re.compile("Temperature"))
        z4 = page.locator("input[type='range'][aria-label='z4']")
        for _ in range(args.reps):
            times["true digit (server)"] += [_key(page, target, "ArrowRight", _ce("peaked", 5, 1.0)),
                                             _key(page, target, "ArrowLeft", _ce("peaked", 4, 1.0))]
            times["temperature (server)"] += [_key(page, temp, "ArrowRight", _ce("peaked", 4, 1.1)),
                                              _key(page, temp, "ArrowLeft", _ce("peaked", 4, 1.0))]
            times["logit z4 (server)"] += [_key(page, z4, "ArrowRight", _ce("peaked", 4, 1.0, 0.01)),
                                           _key(page, z4, "ArrowLeft", _ce("peaked", 4, 1.0))]
            times["preset (server)"] += [_choose(page, PRESET_LABELS["far"], _ce("far", 4, 1.0)),
                                         _choose(page, PRESET_LABELS["peaked"], _ce("peaked", 4, 1.0))]
            times["logit z4 (instant panel)"] += [_instant(frame, "ArrowRight"), _instant(frame, "ArrowLeft")]
        browser.close()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs "
          f"({'NOT idle' if load[0] > 0.5 else 'idle'}); {args.reps} reps x 2 moves per control")
    print(f"{'control':28s} {'median ms':>10s} {'p90 ms':>8s}")
    for name, values in times.items():
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) >= 10 else max(values)
        print(f"{name:28s} {statistics.median(values):10.0f} {p90:8.0f}")


if __name__ == "__main__":
    main()
