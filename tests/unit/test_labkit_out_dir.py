"""``--out``/``--overwrite``: only a folder this project wrote (or an empty one) is ever replaced, atomically,
with its permissions; a folder of user files, the filesystem root and the home directory never are."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from labkit import out_dir
from labkit.out_dir import check_out, staged_out
from tests.unit.run_doubles import write_ntl_run, write_qcbnn_run


def _user_folder(path: Path) -> Path:
    (path / "documents").mkdir(parents=True)
    (path / "documents" / "thesis.tex").write_text("my thesis")
    return path


def _write_result(stage: Path) -> None:
    write_ntl_run(stage / "ce-seed1")
    (stage / "summary.json").write_text("{}")


def test_a_folder_of_user_files_is_never_replaced(tmp_path):
    """Issue 22: ``--out DIR --overwrite`` replaced a folder holding documents/thesis.tex."""
    out = _user_folder(tmp_path / "work")
    with pytest.raises(ValueError, match="did not write"):
        check_out(out, overwrite=True)
    assert (out / "documents" / "thesis.tex").read_text() == "my thesis"


def test_a_user_file_inside_a_run_directory_keeps_it_from_being_replaced(tmp_path):
    from labkit.out_dir import written_by_us

    run = write_qcbnn_run(tmp_path / "run")
    assert written_by_us(run)
    (run / "notes.txt").write_text("mine")
    assert not written_by_us(run)
    with pytest.raises(ValueError, match="did not write"):
        check_out(run, overwrite=True)


@pytest.mark.parametrize("where", ["/", "home", "above home"])
def test_root_and_home_are_refused_before_any_training(tmp_path, monkeypatch, where):
    """Issue 22: ``--out / --overwrite`` trained 44 s, then failed with "PosixPath('/') has an empty name"."""
    home = tmp_path / "users" / "me"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    out = {"/": Path("/"), "home": home, "above home": home.parent}[where]
    with pytest.raises(ValueError, match="never replaced"):
        check_out(out, overwrite=True)


def test_our_comparison_is_replaced_whole_atomically_with_its_permissions(tmp_path):
    out = tmp_path / "cmp"
    write_ntl_run(out / "ce-seed0")
    write_ntl_run(out / "was-seed0", "was")
    (out / "summary.json").write_text("{}")
    (out / "empty-leftover").mkdir()
    out.chmod(0o751)
    check_out(out, overwrite=True)
    with staged_out(out) as stage:
        _write_result(stage)
    assert sorted(p.name for p in out.iterdir()) == ["ce-seed1", "summary.json"]
    assert (out.stat().st_mode & 0o777) == 0o751  # was 0700 (mkdtemp's mode) before
    assert [p.name for p in tmp_path.iterdir()] == ["cmp"]  # no staging or old folder left


def test_a_new_out_gets_the_umask_mode_not_0700(tmp_path):
    old = os.umask(0o022)
    try:
        with staged_out(tmp_path / "new") as stage:
            _write_result(stage)
    finally:
        os.umask(old)
    assert ((tmp_path / "new").stat().st_mode & 0o777) == 0o755


def test_the_swap_is_one_exchange_where_the_system_has_one(tmp_path, monkeypatch):
    out = write_qcbnn_run(tmp_path / "run")
    calls = []
    real = out_dir._exchange
    monkeypatch.setattr(out_dir, "_exchange", lambda a, b: calls.append((a, b)) or real(a, b))
    with staged_out(out) as stage:
        _write_result(stage)
    assert len(calls) == 1 and (out / "summary.json").exists()


def test_the_fallback_without_an_exchange_still_replaces(tmp_path, monkeypatch):
    out = write_qcbnn_run(tmp_path / "run")
    monkeypatch.setattr(out_dir, "_exchange", lambda a, b: False)
    with staged_out(out) as stage:
        _write_result(stage)
    assert (out / "summary.json").exists() and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_folder_that_changes_during_training_is_not_replaced(tmp_path):
    out = write_qcbnn_run(tmp_path / "run")
    with pytest.raises(ValueError, match="did not write.*new results are in"):
        with staged_out(out) as stage:
            _write_result(stage)
            (out / "thesis.tex").write_text("saved here meanwhile")
    assert (out / "thesis.tex").exists()
    assert any(p.name.startswith(".run.new-") and (p / "summary.json").exists() for p in tmp_path.iterdir())


def test_a_failed_run_leaves_the_old_results(tmp_path):
    out = write_qcbnn_run(tmp_path / "run")
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(RuntimeError):
        with staged_out(out) as stage:
            _write_result(stage)
            raise RuntimeError("diverged")
    assert sorted(p.name for p in out.iterdir()) == before and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_symlinked_out_is_refused(tmp_path):
    target = write_qcbnn_run(tmp_path / "run")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(ValueError, match="symbolic link"):
        check_out(tmp_path / "link", overwrite=True)


def test_dot_has_a_name(tmp_path, monkeypatch):
    monkeypatch.chdir(_user_folder(tmp_path / "here"))
    with pytest.raises(ValueError, match="did not write"):  # not "PosixPath('.') has an empty name"
        check_out(Path("."), overwrite=True)
