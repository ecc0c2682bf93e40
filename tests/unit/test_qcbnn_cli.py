"""CLI: JSON output of a tiny run, table output, run directory, clear errors."""
import json
import subprocess
import sys

import pytest

from qcbnn_core.cli import main
from qcbnn_core.runs import load_run
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
