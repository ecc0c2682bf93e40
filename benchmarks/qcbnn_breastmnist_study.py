"""The pre-registered QCBNN study on BreastMNIST (protocol: docs/qcbnn_breastmnist_protocol.md).

Phases (each resumes where it stopped: runs already in the runs file are skipped, each finished run is
appended at once, so an interrupted session loses at most the runs in flight):

* ``select``  — stage 1a (five circuit families at their defaults + MLP, BNN, CNN on seeds 0–4), then stage
  1b (seven one-factor variants around the stage-1a family, chosen by the rule in
  :mod:`qcbnn_core.breastmnist_study` from the validation split).
* ``confirm`` — stage 2 on seeds 10–21: the selected configuration (read from the runs, not typed in), the
  paper's default QCBNN, MLP, BNN, CNN.
* ``summarize`` — writes the summaries the page and notebook read (``docs/qcbnn_study/select_breastmnist.json``,
  ``confirm_breastmnist.json``: the format of ``python -m qcbnn_core train --json``) and prints the verdict.

    OMP_NUM_THREADS=1 python benchmarks/qcbnn_breastmnist_study.py select --jobs 2
    OMP_NUM_THREADS=1 python benchmarks/qcbnn_breastmnist_study.py confirm --jobs 2
    python benchmarks/qcbnn_breastmnist_study.py summarize
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from labkit.strict_json import jsonable
from labkit.study_log import current_commit, read_records
from qcbnn_core import breastmnist_study as plan
from qcbnn_core.study import run_many, summarize, verdict

OUT = Path(__file__).resolve().parent.parent / "docs" / "qcbnn_breastmnist"
SUMMARIES = OUT.parent / "qcbnn_study"  # where the page's multi-seed tab and notebook 03 look


def run_stage(stage: str, specs, runs_path: Path, jobs: int) -> None:
    done = {(r["stage"], r["model"], r["seed"]) for r in read_records(runs_path)}
    todo = [s for s in specs if (stage, s.label, s.seed) not in done]
    print(f"stage {stage}: {len(todo)} runs to train ({len(specs) - len(todo)} already in {runs_path.name})",
          flush=True)
    if not todo:
        return
    commit, t0, count = current_commit(), time.perf_counter(), [0]

    def save(rec: dict) -> None:
        count[0] += 1
        rec = {**rec, "stage": stage, "commit": commit}
        with runs_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(jsonable(rec), allow_nan=False) + "\n")
        print(f"  [{count[0]}/{len(todo)}] {rec['model']} seed {rec['seed']}: val gap "
              f"{rec['val']['gap'][plan.MEASURE]}, test accuracy {rec['accuracy']:.3f}, "
              f"{rec['train_seconds']:.0f} s (elapsed {time.perf_counter() - t0:.0f} s)", flush=True)

    run_many(todo, jobs=jobs, on_result=save)
    print(f"stage {stage}: wall time {time.perf_counter() - t0:.0f} s for {len(todo)} runs (--jobs {jobs})", flush=True)


def _stage(runs: list[dict], stages: tuple[str, ...]) -> list[dict]:
    return [r for r in runs if r["stage"] in stages]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("phase", choices=("select", "confirm", "summarize"))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--dir", type=Path, default=OUT, help="where runs.jsonl lives")
    p.add_argument("--summaries", type=Path, default=SUMMARIES, help="where the summaries are written")
    args = p.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    runs_path = args.dir / "runs.jsonl"
    if args.phase == "select":
        run_stage("1a", plan.stage1a_specs(), runs_path, args.jobs)
        family = plan.stage1a_family(_stage(read_records(runs_path), ("1a",)))
        if family is None:
            print("stage 1a: every family collapsed or has an undefined validation gap; no stage 1b", flush=True)
            return 1
        print(f"stage 1a family (largest mean validation gap): {family}", flush=True)
        run_stage("1b", plan.stage1b_specs(family), runs_path, args.jobs)
        print(f"selected for stage 2: {plan.selected(_stage(read_records(runs_path), ('1a', '1b')))}", flush=True)
        return 0
    if args.phase == "confirm":
        choice = plan.selected(_stage(read_records(runs_path), ("1a", "1b")))
        if choice is None:
            print("stage 1 is not complete: run the select phase first", file=sys.stderr)
            return 1
        print(f"confirming {choice}", flush=True)
        run_stage("2", plan.stage2_specs(choice), runs_path, args.jobs)
        return 0
    runs = read_records(runs_path)
    for name, stages in (("select", ("1a", "1b")), ("confirm", ("2",))):
        records = _stage(runs, stages)
        if not records:
            continue
        summary = summarize(records, baseline="bnn")
        summary.update(data="breastmnist", stages=list(stages), protocol="docs/qcbnn_breastmnist_protocol.md",
                       selected=plan.selected(_stage(runs, ("1a", "1b"))),
                       # runs were trained across sessions and phases: their summed training time, not a wall time
                       train_seconds_total=sum(r["train_seconds"] for r in records))
        path = args.summaries / f"{name}_breastmnist.json"
        path.write_text(json.dumps(jsonable(summary), allow_nan=False, indent=1) + "\n")
        print(f"wrote {path} ({len(records)} runs)")
        if name == "confirm" and summary["selected"]:
            print(verdict(summary, summary["selected"])["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
