"""CLI: JSON output of a tiny run, table output, run directory, clear errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

from qcbnn_core.cli import main
from qcbnn_core.runs import load_run
from tests.unit.full_disk import run_with_file_limit
from tests.unit.qcbnn_doubles import torch_one_thread  # noqa: F401

TINY = ["--epochs", "1", "--samples-train", "2", "--samples-eval", "8", "--n-boot", "50", "--quiet", "--device", "cpu"]


def test_json_output_of_a_tiny_run(capsys, tmp_path):
    assert main(["train", "--data", "digits", "--model", "qcbnn", "--n-layers", "1", "--disc-steps", "1", "--json", "--out",
                 str(tmp_path / "run"), *TINY]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0.0 <= out["accuracy"] <= 1.0 and 0.0 <= out["ece"] <= 1.0
    for measure in ("predictive_entropy", "expected_entropy", "mutual_information", "std_p_positive"):
        gap = out["uncertainty_gap"][measure]
        assert {"gap", "ci_low", "ci_high", "n_wrong", "n_right"} <= set(gap)
    assert out["config"]["model"]["kind"] == "qcbnn" and out["config"]["train"]["epochs"] == 1
    assert out["config"]["model"]["ansatz_overrides"] == {"n_layers": 1} and out["config"]["train"]["disc_steps"] == 1
    assert out["synthetic"] is False and out["data"]["name"] == "digits"
    assert load_run(out["out"]).metrics["test"]["accuracy"] == pytest.approx(out["accuracy"])


def test_table_output_says_synthetic(capsys):
    assert main(["train", "--data", "breast_cancer", "--model", "bnn", *TINY]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "mutual_information" in text and "SYNTHETIC" not in text


def test_bad_input_exits_with_a_clear_message(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", str(tmp_path / "missing.npz"), *TINY])
    assert exc.value.code == 2 and "not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--model", "transformer"])


def test_module_entry_point_help():
    res = subprocess.run([sys.executable, "-m", "qcbnn_core", "train", "--help"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0 and "--ansatz" in res.stdout and "--mechanism" in res.stdout


def test_out_refuses_non_empty_and_overwrite_replaces_our_run_whole(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--data", "breast_cancer", "--model", "cnn", "--out", str(out), *TINY]) == 0
    out.chmod(0o750)
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", "breast_cancer", "--model", "bnn", "--out", str(out), *TINY])
    assert exc.value.code == 2 and "pass --overwrite" in capsys.readouterr().err
    assert main(["train", "--data", "breast_cancer", "--model", "bnn", "--out", str(out), "--overwrite", *TINY]) == 0
    assert load_run(out).config["model"]["kind"] == "bnn" and (out.stat().st_mode & 0o777) == 0o750
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_overwrite_refuses_a_folder_of_user_files_before_training(capsys, tmp_path):
    out = tmp_path / "work"
    (out / "documents").mkdir(parents=True)
    (out / "documents" / "thesis.tex").write_text("my thesis")
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", "breast_cancer", "--model", "bnn", "--out", str(out), "--overwrite", *TINY])
    assert exc.value.code == 2 and "did not write" in capsys.readouterr().err
    assert (out / "documents" / "thesis.tex").read_text() == "my thesis"


@pytest.mark.parametrize("args, message", [
    (["--device", "tpu"], "unknown device"),
    (["--out", "/proc/forbidden/run"], "not writable"),
])
def test_bad_device_or_out_fails_before_training(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", "breast_cancer", "--model", "bnn", *TINY, *args])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("error: ") and message in err


BNN = ["train", "--data", "breast_cancer", "--model", "bnn", *TINY]


@pytest.mark.parametrize("flags, message", [
    (["--threads", "100000"], "expected a whole number from 1 to"),  # was a MemoryError
    (["--threads", "-1"], "expected a whole number from 1 to"),  # was silently 1
    (["--seed", "-1"], "a seed is a whole number"),
    (["--seeds", "0-"], "has no end"),
    (["--seeds", "0,0"], "listed twice"),
    (["--seeds", "0-1000000000"], "at most 1000"),
])
def test_bad_threads_and_seeds_are_refused_by_the_parser(capsys, flags, message):
    with pytest.raises(SystemExit) as exc:
        main([*BNN, *flags])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize("flags, message", [
    (["--samples-train", "1000000000"], "n_samples_train must be at most 64"),  # these four failed to allocate
    (["--samples-eval", "1000000000"], "n_samples_eval must be at most 4,096"),
    (["--sivi-draws", "1000000000"], "sivi_draws must be at most 1,024"),
    (["--n-boot", "1000000000"], "n_boot must be at most 20,000"),
    (["--batch-size", "1000000000"], "batch_size must be at most 700"),  # these were accepted
    (["--lr", "inf"], "lr must be a finite number"),
    (["--beta", "nan"], "beta_max must be a finite number"),
    (["--prior-sigma", "inf"], "prior_sigma must be a finite number"),
    (["--lr-generator", "inf"], "lr_generator must be None or a finite number"),
    (["--device", "cpu:99"], "one CPU device"),
    (["--jobs", "100"], "usable CPU core"),
    (["--model", "bnn,cnn", "--seeds", "0,1", "--baseline", "foo"], "--baseline 'foo' is not among --model"),
])
def test_bad_values_are_an_error_line_before_training(capsys, flags, message):
    with pytest.raises(SystemExit) as exc:
        main([*BNN, *flags])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("error: ") and message in err and "Traceback" not in err


def _breastmnist_npz(tmp_path, **changes):
    from tests.unit.test_safe_npz import _npz, _valid_arrays

    arrays = {**_valid_arrays(), **changes}
    path = tmp_path / "breastmnist.npz"
    path.write_bytes(_npz(arrays))
    return path


def _corrupt_deflate(path):
    """Overwrite the compressed bytes of one member: a damaged deflate stream (zlib.error before)."""
    import zipfile

    raw = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo("train_images.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + 2:start + info.compress_size - 2] = b"\xff" * (info.compress_size - 4)
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: _corrupt_deflate(_breastmnist_npz(p)), "member 'train_images' is damaged"),
    (lambda p: _breastmnist_npz(p, test_images=np.zeros((0, 28, 28), np.uint8),
                                test_labels=np.zeros((0, 1), np.uint8)), "the test split is empty"),
    (lambda p: _breastmnist_npz(p, val_images=np.zeros((0, 28, 28), np.uint8),
                                val_labels=np.zeros((0, 1), np.uint8)), "the val split is empty"),
    (lambda p: _breastmnist_npz(p, test_labels=np.ones((6, 1), np.uint8)), "test_labels must contain both classes"),
])
def test_damaged_or_unusable_data_files_are_an_error_line(capsys, tmp_path, make, message):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", str(make(tmp_path)), "--model", "bnn", *TINY])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and "Traceback" not in err


def test_quiet_and_no_progress_are_one_flag():
    from qcbnn_core.cli import build_parser

    for flag in ("--quiet", "--no-progress"):
        assert build_parser().parse_args(["train", flag]).quiet


def test_seed_ranges_run_a_comparison(capsys):
    assert main(["train", "--data", "breast_cancer", "--model", "bnn,cnn", "--seeds", "0-1", "--json", *TINY]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seeds"] == [0, 1] and out["baseline"] == "bnn" and "cnn" in out["paired"]


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX file-size limits")
def test_a_disk_that_fills_up_while_saving_is_an_error_line(tmp_path):
    proc = run_with_file_limit("qcbnn_core", [*BNN, "--out", str(tmp_path / "run")], 30_000)
    assert proc.returncode == 2 and proc.stderr.startswith("error: File too large"), proc.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []


def test_a_failed_weights_write_is_an_error_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    import torch

    def full(*args, **kwargs):  # what torch's zip writer raises when the disk is full
        raise RuntimeError("[enforce fail at inline_container.cc:783] . PytorchStreamWriter failed writing file data/0: "
                           "file write failed")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", "digits", "--model", "cnn", "--out", str(tmp_path / "run"), *TINY])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write the weights to") and "file write failed" in err
    assert not (tmp_path / "run").exists()  # the staged run was not swapped in
