"""python -m ntl_core train: JSON report on a tiny configuration, run directories, errors."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest

from ntl_core.cli import main
from ntl_core.training import load_runs
from tests.unit.full_disk import run_with_file_limit
from tests.unit.ntl_train_helpers import one_thread  # noqa: F401  (autouse fixture)

TINY = ["train", "--preset", "tiny", "--device", "cpu", "--steps", "3", "--no-progress"]


def test_json_report_per_seed_and_summary(capsys, tmp_path):
    assert main([*TINY, "--losses", "ce,was", "--seeds", "0,1", "--json", "--out", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["losses"] == ["ce", "was"] and report["seeds"] == [0, 1] and report["steps"] == 3
    assert {(r["loss"], r["seed"]) for r in report["runs"]} == {("ce", 0), ("was", 0), ("ce", 1), ("was", 1)}
    per_seed = {(r["loss"], r["seed"]): r["final"]["interpolation"]["exact_match"] for r in report["runs"]}
    summary = report["summary"]["was"]["interpolation"]["exact_match"]
    assert summary["values"] == [per_seed[("was", 0)], per_seed[("was", 1)]]
    assert summary["mean"] == pytest.approx(statistics.mean(summary["values"]))
    diff = report["paired_vs_ce"]["was"]["interpolation"]["exact_match"]
    assert diff["mean_diff"] == pytest.approx(statistics.mean(
        per_seed[("was", s)] - per_seed[("ce", s)] for s in (0, 1)))
    assert set(report["summary"]["ce"]) == {"interpolation", "extrapolation"}
    # the run directories open again (what the lab page does), and summary.json equals stdout
    runs = load_runs(tmp_path)
    assert sorted(r.name for r in runs) == ["ce-seed0", "ce-seed1", "was-seed0", "was-seed1"]
    assert all(r.has_checkpoint and r.config.steps == 3 for r in runs)
    assert json.loads((tmp_path / "summary.json").read_text()) == report


def test_table_output(capsys):
    assert main([*TINY, "--losses", "ce,mse", "--seeds", "0"]) == 0
    out = capsys.readouterr().out
    assert "[interpolation]" in out and "paired mse − ce:" in out and "exact_match" in out


def test_bad_config_exits_with_a_message(capsys):
    assert main([*TINY, "--lr", "0"]) == 2
    assert "learning rate" in capsys.readouterr().err


def test_module_entry_point_rejects_unknown_losses():
    proc = subprocess.run([sys.executable, "-m", "ntl_core", "train", "--losses", "ce,l1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "unknown loss" in proc.stderr


def test_out_is_refused_when_not_empty_and_replaced_whole_with_overwrite(capsys, tmp_path):
    out = tmp_path / "cmp"
    assert main([*TINY, "--losses", "ce,was", "--seeds", "0", "--out", str(out)]) == 0
    (out / "stale-seed9").mkdir()
    assert main([*TINY, "--losses", "ce", "--seeds", "0", "--out", str(out)]) == 2
    assert "not empty; pass --overwrite" in capsys.readouterr().err
    assert main([*TINY, "--losses", "ce", "--seeds", "1", "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["ce-seed1", "summary.json"]  # no stale siblings
    assert [p.name for p in tmp_path.iterdir()] == ["cmp"]  # no staging folder left behind


@pytest.mark.parametrize("flags, message", [
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--device", "cuda:0"], "CUDA is not available"),
    (["--device", "meta"], "not supported"),
])
def test_bad_device_is_an_error_line_not_a_traceback(capsys, flags, message):
    assert main([*TINY, "--seeds", "0", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_unwritable_out_fails_before_training(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main([*TINY, "--seeds", "0", "--out", str(blocker / "sub")]) == 2
    assert "not writable" in capsys.readouterr().err


def test_worker_processes_give_the_same_report_as_in_process(capsys, tmp_path):
    flags = [*TINY, "--losses", "ce,was", "--seeds", "0-1", "--json"]
    assert main([*flags, "--out", str(tmp_path / "here")]) == 0
    here = json.loads(capsys.readouterr().out)
    assert main([*flags, "--jobs", "2", "--out", str(tmp_path / "workers")]) == 0
    there = json.loads(capsys.readouterr().out)
    assert here["seeds"] == [0, 1]
    drop = ("train_seconds", "steps_per_second")
    assert [{k: v for k, v in r.items() if k not in drop} for r in here["runs"]] == \
        [{k: v for k, v in r.items() if k not in drop} for r in there["runs"]]
    assert here["summary"] == there["summary"]
    assert sorted(r.name for r in load_runs(tmp_path / "workers")) == ["ce-seed0", "ce-seed1", "was-seed0", "was-seed1"]


def test_ray_without_ray_installed_is_an_error_line(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError, as when not installed
    assert main([*TINY, "--seeds", "0", "--ray", "auto"]) == 2
    assert "needs the 'ray' package" in capsys.readouterr().err


def test_presets_json_lists_every_preset_with_its_claim(capsys):
    from ntl_core.training import PRESET_INFO, TrainConfig

    assert main(["presets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == list(PRESET_INFO)
    for row in rows:
        assert {"id", "label", "config", "headline_metric", "expected"} <= set(row)
        assert row["expected"] in ("better", "worse", "no difference", None)
        assert TrainConfig.from_dict(row["config"]) == PRESET_INFO[row["id"]].config


def test_train_preset_defaults_and_flag_overrides(capsys, tmp_path):
    # losses/seeds come from the preset unless given; --train-size/--grad-clip override its fields
    assert main(["train", "--preset", "tiny", "--device", "cpu", "--steps", "2", "--no-progress", "--json",
                 "--losses", "ce,was", "--digits", "2", "--train-size", "50", "--grad-clip", "0",
                 "--out", str(tmp_path / "g"), "--no-weights"]) == 0
    runs = load_runs(tmp_path / "g")
    assert len(runs) == 2 and not any(r.has_checkpoint for r in runs)  # histories only (gallery runs)
    report = json.loads(capsys.readouterr().out)
    assert report["seeds"] == [0] and report["config"]["train_size"] == 50 and report["config"]["grad_clip"] == 0
    assert report["preset"]["id"] == "tiny" and report["preset"]["headline_metric"] == "exact_match"
    assert report["verdict"]["losses"]["was"]["outcome"] in ("one seed", "tie at 0")


@pytest.mark.parametrize("flags, message", [
    (["--seeds", "0-1000000000"], "at most 1000"),  # was a MemoryError
    (["--seeds", "0-"], "has no end"),  # was read as seed 0
    (["--seeds", "0,0"], "listed twice"),  # was trained twice and averaged as two seeds
    (["--seeds", "-1"], "whole numbers >= 0"),
    (["--steps", "0"], "expected a whole number >= 1"),  # was a run with no training and a verdict
])
def test_bad_seeds_and_steps_are_refused_by_the_parser(capsys, flags, message):
    with pytest.raises(SystemExit) as exc:
        main([*TINY, *flags])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize("flags, message", [
    (["--device", "cpu:99"], "one CPU device"),  # torch ignores a CPU index
    (["--jobs", "100"], "usable CPU core"),
    (["--lr", "inf"], "finite number"),
    (["--batch-size", "1000000000"], "batch_size must be at most"),
    (["--eval-size", "1000000000"], "eval_size must be at most 10,000"),  # was a 7.45 GiB allocation
    (["--train-size", "1000000000"], "train_size must be at most"),
    (["--task", "file", "--data-path", "/dev/zero"], "not a regular file"),  # was a MemoryError
])
def test_bad_values_are_an_error_line_before_training(capsys, flags, message):
    assert main([*TINY, "--seeds", "0", "--losses", "ce", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_an_oversized_data_file_is_refused_before_it_is_read(capsys, tmp_path):
    from ntl_core.tasks import MAX_QA_FILE_BYTES

    big = tmp_path / "train.txt"
    with open(big, "wb") as fh:  # sparse: no disk is used
        fh.truncate(MAX_QA_FILE_BYTES + 1)
    assert main([*TINY, "--seeds", "0", "--losses", "ce", "--task", "file", "--data-path", str(big)]) == 2
    assert f"at most {MAX_QA_FILE_BYTES:,} are read" in capsys.readouterr().err


def test_quiet_and_no_progress_are_one_flag():
    from ntl_core.cli import build_parser

    for flag in ("--quiet", "--no-progress"):
        assert build_parser().parse_args(["train", flag]).quiet


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX file-size limits")
def test_a_disk_that_fills_up_while_saving_is_an_error_line(tmp_path):
    # Files over 30 kB cannot be written: the history fits, the checkpoint does not (safetensors raised its
    # own SafetensorError, a traceback, before).
    proc = run_with_file_limit("ntl_core", [*TINY, "--seeds", "0", "--losses", "ce", "--out", str(tmp_path / "out")],
                               30_000)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith("error: cannot write the checkpoint") and "Traceback" not in proc.stderr
    assert "File too large" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # the half-written run was removed, nothing left behind
