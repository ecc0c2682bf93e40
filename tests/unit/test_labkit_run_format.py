"""Run-directory header: both cores write it, old directories still open, wrong or newer ones are refused."""
import json
import shutil
from pathlib import Path

import pytest

from labkit.run_format import stamp, unstamp
from ntl_core import runs as ntl_runs
from qcbnn_core import runs as qcbnn_runs
from tests.unit.ntl_train_helpers import one_thread, tiny  # noqa: F401

FORMAT1 = Path(__file__).resolve().parents[1] / "fixtures" / "ntl_run_format1"  # written by ntl_core before the header


def test_stamp_and_unstamp_round_trip_and_refusals():
    config = stamp({"lr": 0.1}, "ntl", 2)
    assert config == {"format": {"kind": "ntl", "version": 2}, "lr": 0.1}
    assert unstamp(json.loads(json.dumps(config)), "ntl", 2, {None: 1}) == (2, {"lr": 0.1})
    assert unstamp({"lr": 0.1}, "ntl", 2, {None: 1}) == (1, {"lr": 0.1})
    with pytest.raises(ValueError, match="'qcbnn' run directory, not a 'ntl'"):
        unstamp(stamp({}, "qcbnn", 2), "ntl", 2, {None: 1})
    with pytest.raises(ValueError, match="format version 3; this code reads up to 2"):
        unstamp(stamp({}, "ntl", 3), "ntl", 2, {None: 1})
    with pytest.raises(ValueError, match="unknown format header"):
        unstamp({"format": 7}, "qcbnn", 2, {1: 1})
    with pytest.raises(ValueError, match="unknown format header"):
        unstamp({}, "qcbnn", 2, {1: 1})  # a QCBNN config always had a header
    with pytest.raises(ValueError, match="reserved"):
        stamp({"format": 1}, "ntl", 2)
    with pytest.raises(ValueError, match="JSON object"):
        unstamp([1], "ntl", 2, {None: 1})


def test_old_ntl_run_directory_still_opens():
    record = ntl_runs.load_run(FORMAT1)
    assert record.format_version == 1 and not record.has_checkpoint
    assert record.config.loss == "was" and record.config.eval_size == 8
    assert [r["step"] for r in record.train_rows()] == [1, 2] and record.eval_rows()[0]["step"] == 2


def test_ntl_writes_the_header_and_an_unstamped_checkpointed_run_still_restores(tmp_path):
    from ntl_core.trainer import Trainer, load_trainer

    trainer = Trainer(tiny(eval_every=0))
    trainer.step(1)
    trainer.save(tmp_path / "run")
    written = json.loads((tmp_path / "run" / ntl_runs.CONFIG).read_text())
    assert written["format"] == {"kind": "ntl", "version": ntl_runs.FORMAT_VERSION}
    assert ntl_runs.load_run(tmp_path / "run").format_version == ntl_runs.FORMAT_VERSION
    del written["format"]  # as format 1 wrote it
    (tmp_path / "run" / ntl_runs.CONFIG).write_text(json.dumps(written))
    again = load_trainer(tmp_path / "run", device="cpu")
    assert again.cfg == trainer.cfg and again.step_count == 1


def test_an_ntl_reader_refuses_a_qcbnn_run_directory(tmp_path):
    shutil.copytree(FORMAT1, tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    (tmp_path / "run" / "config.json").write_text(json.dumps(stamp(config, "qcbnn", 2)))
    with pytest.raises(ValueError, match="not a 'ntl' one"):
        ntl_runs.load_run(tmp_path / "run")


def test_qcbnn_writes_the_header_and_format1_still_opens(tmp_path):
    from qcbnn_core.data import make_phantom
    from qcbnn_core.models import ModelConfig
    from qcbnn_core.trainer import TrainConfig, Trainer

    trainer = Trainer(make_phantom(seed=0, splits=(32, 16, 16)), ModelConfig(kind="cnn"),
                      TrainConfig(epochs=1, batch_size=16, n_samples_eval=4, snapshot_samples=4, n_boot=5,
                                  device="cpu"))
    trainer.fit()
    run = qcbnn_runs.save_run(trainer, tmp_path / "run")
    config = json.loads((run / "config.json").read_text())
    assert config["format"] == {"kind": "qcbnn", "version": qcbnn_runs.FORMAT_VERSION}
    record = qcbnn_runs.load_run(run)
    assert record.format_version == qcbnn_runs.FORMAT_VERSION and "format" not in record.config
    assert record.model_config == trainer.model_cfg
    (run / "config.json").write_text(json.dumps({**config, "format": 1}))  # as format 1 wrote it
    old = qcbnn_runs.load_run(run)
    assert old.format_version == 1 and old.config == record.config
