"""Run directories from the browser: only the configured root, and uploaded zips checked before extraction."""
import errno
import io
import json
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

import pytest

from pages._ui import run_dirs
from pages._ui.run_dirs import REFUSED, check_zip, list_runs, load_upload, open_listed


def _is_run(p: Path) -> bool:
    return (p / "config.json").is_file()


def _read(p: Path, budget=None) -> dict:
    return json.loads((p / "config.json").read_text())


def _want(parts) -> bool:
    return parts[-1] == "config.json"


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "runs"
    (r / "a").mkdir(parents=True)
    (r / "a" / "config.json").write_text('{"name": "a"}')
    (r / "group" / "b").mkdir(parents=True)
    (r / "group" / "b" / "config.json").write_text('{"name": "b"}')
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "config.json").write_text('{"db_password": "hunter2"}')
    os.symlink(secret, r / "link")  # a symlink inside the root pointing out of it
    return r


def test_runs_root_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_RUNS_DIR", str(tmp_path))
    assert run_dirs.runs_root() == tmp_path.resolve()
    monkeypatch.delenv("APP_RUNS_DIR")
    assert run_dirs.runs_root() == run_dirs.PROJECT_ROOT / "runs"


def test_only_real_runs_under_the_root_are_listed(root):
    assert list_runs(root, _is_run) == ["a", "group/b"]  # the symlink is not followed


@pytest.mark.parametrize("name", ["../secret", "link", "/etc", str(Path("/etc/passwd")), "a/../../secret",
                                  "missing", "group", "~"])
def test_any_other_name_gets_one_message_that_reveals_nothing(root, name):
    with pytest.raises(ValueError) as info:
        open_listed(root, name, _is_run, _read)
    assert str(info.value) == REFUSED


def test_listed_runs_open(root):
    assert open_listed(root, "group/b", _is_run, _read) == {"name": "b"}


def _zip(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, raw in members.items():
            zf.writestr(name, raw)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


def test_a_good_zip_loads_and_its_folder_is_removed():
    seen = []

    def load(p: Path, budget):
        seen.append(p)
        return _read(p)

    raw = _zip({"run/config.json": b'{"name": "up"}', "run/model/weights.bin": b"\x80pickle"})
    assert load_upload(raw, _want, _is_run, load) == {"name": "up"}
    assert not seen[0].exists()  # the temporary folder is gone
    assert not (seen[0] / "model").exists()


@pytest.mark.parametrize("members, symlinks, message", [
    ({"../evil/config.json": b"{}"}, None, "leaves its folder"),
    ({"run/../../config.json": b"{}"}, None, "leaves its folder"),
    ({"/etc/config.json": b"{}"}, None, "absolute"),
    ({"run\\..\\config.json": b"{}"}, None, "absolute or Windows"),
    ({"run/config.json": b"{}"}, {"run/metrics.jsonl": "/etc/passwd"}, "symbolic link"),
    ({"run/notes.txt": b"hi"}, None, "no run directory"),
])
def test_malicious_zips_are_refused(tmp_path, members, symlinks, message):
    with pytest.raises(ValueError, match=message):
        load_upload(_zip(members, symlinks), _want, _is_run, _read)


def test_zip_bomb_is_refused_by_its_declared_size():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("run/config.json", "w", force_zip64=True) as fh:
            chunk = b" " * (1 << 20)
            for _ in range(run_dirs.MAX_INPUT_BYTES // len(chunk) + 1):
                fh.write(chunk)
    raw = buf.getvalue()
    assert len(raw) < 1_000_000
    with pytest.raises(ValueError, match="unpacks to more than"):
        check_zip(raw)


def test_size_and_format_caps():
    with pytest.raises(ValueError, match="limit"):
        check_zip(b"\0" * (run_dirs.MAX_ZIP_BYTES + 1))
    with pytest.raises(ValueError, match="not a readable .zip"):
        check_zip(b"PK\x03\x04 broken")
    many = _zip({f"f{i}": b"" for i in range(run_dirs.MAX_ZIP_MEMBERS + 1)})
    with pytest.raises(ValueError, match="members"):
        check_zip(many)


# ----------------------------------------------------------------------------- issue 22
def _upload_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob(run_dirs.UPLOAD_PREFIX + "*")}


class _TabClosed(BaseException):
    """Stands for Streamlit's StopException, raised in the script thread when a session ends."""


@pytest.mark.parametrize("how", ["loaded", "refused by the loader", "no run inside", "tab closed"])
def test_the_temporary_folder_is_removed_on_every_path(how):
    before = _upload_folders()
    raw = _zip({"run/config.json": b'{"name": "up"}'} if how != "no run inside" else {"run/x.txt": b"x"})

    def load(p: Path, budget):
        if how == "refused by the loader":
            raise ValueError("bad field")
        if how == "tab closed":
            raise _TabClosed()
        return _read(p)

    try:
        load_upload(raw, lambda parts: True, _is_run, load)
    except (ValueError, _TabClosed):
        assert how != "loaded"
    assert _upload_folders() == before


def test_a_full_temporary_folder_is_reported_as_such(monkeypatch):
    """Issue 22: a full temp folder was reported as "a member of the zip is damaged"."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/tmp/app_run_upload_x/run/config.json")

    monkeypatch.setattr(run_dirs.shutil, "copyfileobj", full)
    with pytest.raises(ValueError) as info:
        load_upload(_zip({"run/config.json": b"{}"}), _want, _is_run, _read)
    assert "no space left" in str(info.value) and "damaged" not in str(info.value) and "/tmp" not in str(info.value)


def test_messages_never_show_the_servers_folders(root, tmp_path):
    def load(p: Path, budget):
        raise ValueError(f"{p}/config.json: bad field; also {tempfile.gettempdir()}/x and {run_dirs.PROJECT_ROOT}/y")

    with pytest.raises(ValueError) as info:
        open_listed(root, "group/b", _is_run, load)
    assert str(info.value).startswith("group/b/config.json: bad field")
    with pytest.raises(ValueError) as info:
        load_upload(_zip({"run/config.json": b"{}"}), _want, _is_run, load)
    assert str(info.value).startswith("run/config.json: bad field")
    for message in (str(info.value),):
        assert str(tmp_path) not in message and tempfile.gettempdir() + "/" not in message
        assert str(run_dirs.PROJECT_ROOT) not in message


def test_the_upload_budget_counts_the_unpacked_files(monkeypatch):
    from labkit.untrusted import Budget

    monkeypatch.setattr(run_dirs, "Budget", lambda: Budget(max_bytes=1000))
    raw = _zip({"run/config.json": b"{}", "run/big.bin": b"x" * 2000})
    with pytest.raises(ValueError, match="run/big.bin: unpacking it would take .* past its budget of 1,000"):
        load_upload(raw, lambda parts: True, _is_run, lambda p, budget: _read(p))


def test_a_listed_run_whose_config_is_a_symlink_is_not_listed(root, tmp_path):
    from labkit.untrusted import is_regular_file

    (root / "sneaky").mkdir()
    (root / "sneaky" / "config.json").symlink_to(tmp_path / "secret" / "config.json")
    listed = list_runs(root, lambda p: is_regular_file(p / "config.json"))
    assert "sneaky" not in listed and "a" in listed


def test_stale_upload_folders_of_a_killed_server_are_swept():
    stale = Path(tempfile.mkdtemp(prefix=run_dirs.UPLOAD_PREFIX))
    os.utime(stale, (0, 0))
    fresh = Path(tempfile.mkdtemp(prefix=run_dirs.UPLOAD_PREFIX))
    try:
        load_upload(_zip({"run/config.json": b"{}"}), _want, _is_run, lambda p, budget: _read(p))
        assert not stale.exists() and fresh.exists()
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def test_no_space_for_the_temporary_folder_itself_is_reported_as_such(monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/tmp/app_run_upload_x")

    monkeypatch.setattr(run_dirs.tempfile, "TemporaryDirectory", full)
    with pytest.raises(ValueError, match="no space left") as info:
        load_upload(_zip({"run/config.json": b"{}"}), _want, _is_run, _read)
    assert "/tmp" not in str(info.value)
