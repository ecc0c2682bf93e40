"""Fuzz the app's inputs as a careless user and an attacker would, and count what happens.

    python -m tests.fuzz_inputs uploads|urls|clis [--verbose] [--limit-mb 2500]     (from the project root)

* uploads: crafted run zips on both run viewers and crafted BreastMNIST files on the QCBNN page, each
  opened through the real page in Streamlit's AppTest;
* urls: a corpus of bad values for every shareable parameter of every page (seed and tour included), one
  page load per value with that value in every parameter at once (a load that raises is re-run one
  parameter at a time to find the culprit);
* clis: ``--out``/``--overwrite`` and ``--data`` cases of both command lines, as subprocesses
  (with ``HOME`` pointed at a scratch folder, so a broken guard could not touch a real home).

Outcomes: *clear message* (refused with a message, no traceback, no server path in it), *accepted* (a
good input that worked), *uncaught* (an exception on the page, a traceback from a CLI), *wrongly
accepted* (a bad input taken without a word: for a URL value, used as something else or dropped),
*wrongly refused*, *unclear message* (refused, but the message shows a server path), *server down*
(the page process passed ``--limit-mb`` of memory or hung: a class server would be OOM-killed).

Each group runs in a child process that the parent watches; after a kill it restarts at the next case.
It lives under tests/ because it drives the pages (benchmarks/ only call the cores).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import pickle
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("APP_WORKER_BACKEND", "inprocess")
os.environ["STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"] = "full"  # the page's exception text, for the report

from tests.unit.run_doubles import bomb_npz, edit_json, npz_bytes, write_ntl_run, write_qcbnn_run, zip_folder  # noqa: E402

CASE_TIMEOUT_S = 180
PATHS = re.compile(r"(/tmp/|/root/|/home/|/work/)")
LINK = re.compile(r"(?<!\\)\]\(|(?<!\\)<[a-z]|(?<![\\])https?(?<!\\):")


def unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


# ----------------------------------------------------------------------------- upload cases
def _arrays(name, change):
    def mutate(run: Path) -> None:
        with np.load(run / name) as z:
            d = {k: z[k] for k in z.files}
        change(d)
        (run / name).write_bytes(npz_bytes(d))
    return mutate


def _json(name, change):
    return lambda run: edit_json(run / name, change)


def _write(name, raw: bytes):
    return lambda run: (run / name).write_bytes(raw)


def _corrupt(name):
    def mutate(run: Path) -> None:
        raw = bytearray((run / name).read_bytes())
        mid = len(raw) // 2
        raw[mid:mid + 100] = b"\0" * 100
        (run / name).write_bytes(bytes(raw))
    return mutate


def _bomb(members: list[str], nbytes: int):
    return lambda run: (run / "predictions.npz").write_bytes(bomb_npz(members, nbytes))


PER_SAMPLE = ("p_positive", "pred", "correct", "label", "predictive_entropy", "expected_entropy",
              "mutual_information", "std_p_positive")


def _set(**values):
    return lambda d: d.update(values)


def _gap(value):
    return lambda m: m["test"]["uncertainty_gap"]["predictive_entropy"].update(gap=value)


QCBNN_BAD = {
    "snapshots 1-D": _arrays("weights.npz", lambda d: d.update(snapshots=d["snapshots"].ravel())),
    "probs 1-D": _arrays("predictions.npz", lambda d: d.update(probs=d["probs"].ravel())),
    "no predictive_entropy": _arrays("predictions.npz", lambda d: d.pop("predictive_entropy")),
    "labels -3": _arrays("predictions.npz", lambda d: d.update(label=d["label"] * 0 - 3)),
    "labels 7": _arrays("predictions.npz", lambda d: d.update(label=d["label"] * 0 + 7)),
    "one saved epoch": _arrays("weights.npz", lambda d: d.update(snapshots=d["snapshots"][:1])),
    "NaN snapshots": _arrays("weights.npz", lambda d: d.update(snapshots=d["snapshots"] * np.nan)),
    "empty snapshots": _arrays("weights.npz", lambda d: d.update(snapshots=d["snapshots"][:, :0])),
    "per-sample length 3": _arrays("predictions.npz", lambda d: d.update({k: d[k][:3] for k in PER_SAMPLE})),
    "empty predictions": _arrays("predictions.npz", lambda d: d.update(
        {k: (d[k][:, :0] if k == "probs" else d[k][:0]) for k in d})),
    "probs 1.5": _arrays("predictions.npz", lambda d: d.update(probs=d["probs"] * 0 + 1.5)),
    "probs NaN": _arrays("predictions.npz", lambda d: d.update(probs=d["probs"] * np.nan)),
    "pred 2": _arrays("predictions.npz", lambda d: d.update(pred=d["pred"] * 0 + 2)),
    "correct disagrees": _arrays("predictions.npz", lambda d: d.update(correct=~d["correct"])),
    "probs object dtype": _arrays("predictions.npz", lambda d: d.update(p_positive=np.array([{}] * 12, object))),
    "extra member": _arrays("predictions.npz", lambda d: d.update(extra=np.zeros(3))),
    "epochs 'xyz'": _json("config.json", lambda c: c["train"].update(epochs="xyz")),
    "kind 'evil'": _json("config.json", lambda c: c["model"].update(kind="evil")),
    "mechanism 'evil'": _json("config.json", lambda c: c["model"].update(mechanism="evil")),
    "ansatz 'evil'": _json("config.json", lambda c: c["model"].update(ansatz="evil")),
    "prior_sigma 'x'": _json("config.json", lambda c: c["train"].update(prior_sigma="x")),
    "prior_sigma -1": _json("config.json", lambda c: c["train"].update(prior_sigma=-1)),
    "input_shape 'abc'": _json("config.json", lambda c: c["data"].update(input_shape="abc")),
    "unknown train field": _json("config.json", lambda c: c["train"].update(evil=1)),
    "format kind ntl": _json("config.json", lambda c: c.update(format={"kind": "ntl", "version": 2})),
    "format version 99": _json("config.json", lambda c: c.update(format={"kind": "qcbnn", "version": 99})),
    "config list": _write("config.json", b"[1, 2]"),
    "config 100k nested": _write("config.json", b"[" * 100_000 + b"]" * 100_000),
    "config not UTF-8": _write("config.json", b"\xff\xfe{}"),
    "config not JSON": _write("config.json", b"{nope"),
    "gap 'x'": _json("metrics.json", _gap("x")),
    "gap [1]": _json("metrics.json", _gap([1])),
    "accuracy 2": _json("metrics.json", lambda m: m["test"].update(accuracy=2)),
    "n_wrong -1": _json("metrics.json", lambda m: m["test"]["uncertainty_gap"]["predictive_entropy"].update(n_wrong=-1)),
    "reliability count short": _json("metrics.json", lambda m: m["test"]["reliability"].update(count=[1])),
    "no test metrics": _json("metrics.json", lambda m: m.pop("test")),
    "history list": _write("history.json", b"[]"),
    "history no epochs": _json("history.json", lambda h: h.update(epochs=[])),
    "history epoch 'x'": _json("history.json", lambda h: h["epochs"][0].update(epoch="x")),
    "history loss 'abc'": _json("history.json", lambda h: h["epochs"][0].update(train_loss="abc")),
    "history 60k step rows": _json("history.json", lambda h: h.update(steps=[{"step": i, "epoch": 1}
                                                                             for i in range(60_000)])),
    "history [[],[],…]": _write("history.json", b'{"epochs": [' + b"[]," * 3_000_000 + b"[]]}"),
    "predictions corrupt deflate": _corrupt("predictions.npz"),
    "weights corrupt deflate": _corrupt("weights.npz"),
    "weights not a zip": _write("weights.npz", b"PK\x03\x04 broken"),
    "predictions 760 members of 64 MB": _bomb([f"m{i}" for i in range(760)], 64 << 20),
    "predictions 24 members of 64 MB": _bomb([f"m{i}" for i in range(24)], 64 << 20),
    "predictions 9 allowed members of 32 MB": _bomb(["probs", *PER_SAMPLE], 32 << 20),
}
QCBNN_GOOD = {"a valid run": None, "a BNN run": "bnn", "two runs": "two", "markdown in the folder name": "name"}

NTL_BAD = {
    "config 100k nested": _write("config.json", b"[" * 100_000 + b"]" * 100_000),
    "metric 'abc'": "mae:'abc'", "metric [1,2]": "mae:[1,2]", "step 1e29": "step:100000000000000000000000000000",
    "step true": "step:true", "step -1": "step:-1", "step 1.5": "step:1.5", "split 7": "split:7",
    "split 'train'": "split:'train'", "exact_match 2": "exact_match:2", "mape -1": "mape:-1", "Infinity": "mae:Infinity",
    "digits true": _json("config.json", lambda c: c.update(digits=True)),
    "reverse 'yes'": _json("config.json", lambda c: c.update(reverse="yes")),
    "loss 'evil'": _json("config.json", lambda c: c.update(loss="evil")),
    "task 'evil'": _json("config.json", lambda c: c.update(task="evil")),
    "seed -1": _json("config.json", lambda c: c.update(seed=-1)),
    "config list": _write("config.json", b"[]"),
    "config not UTF-8": _write("config.json", b"\xff\xfe{}"),
    "metrics not JSON": _write("metrics.jsonl", b"{nope\n"),
    "metrics row a list": _write("metrics.jsonl", b"[1, 2]\n"),
    "metrics 1.19M rows": _write("metrics.jsonl", b'{"step": 1}\n' * 1_190_000),
    "metrics row 100k nested": _write("metrics.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n"),
    "long field name": _write("metrics.jsonl", b'{"step": 1, "' + b"x" * 100 + b'": 1}\n'),
    "format kind qcbnn": _json("config.json", lambda c: c.update(format={"kind": "qcbnn", "version": 2})),
    "duplicate loss and seed": "dup",
    "corrupt deflate in the zip": "corrupt-zip",
}
NTL_GOOD = {"a valid run": None, "a comparison": "two", "null metrics": "mae:null"}


def _row_edit(spec: str):
    key, raw = spec.split(":", 1)
    value = raw.replace("'", '"')

    def mutate(run: Path) -> None:
        lines = (run / "metrics.jsonl").read_text().splitlines()
        row = json.loads(lines[-1])
        text = json.dumps(row)[:-1] + f', "{key}": {value}' + "}" if key not in row else re.sub(
            rf'"{key}": [^,}}]+', f'"{key}": {value}', json.dumps(row))
        (run / "metrics.jsonl").write_text("\n".join(lines[:-1] + [text]) + "\n")
    return mutate


def upload_cases(tmp: Path) -> list[tuple[str, str, str, bytes]]:
    """``(viewer, name, expect, zip bytes)`` for every run-upload case."""
    cases = []
    for name, how in {**QCBNN_BAD, **QCBNN_GOOD}.items():
        folder = tmp / f"q{len(cases)}"
        run = write_qcbnn_run(folder / ("[Your account expired](https:evil.com)" if how == "name" else "run"),
                              kind="bnn" if how == "bnn" else "qcbnn")
        if how == "two":
            write_qcbnn_run(folder / "bnn", kind="bnn")
        elif callable(how):
            how(run)
        raw = zip_folder(folder) if how == "two" else zip_folder(run)
        cases.append(("qcbnn", name, "bad" if name in QCBNN_BAD else "good", raw))
    for name, how in {**NTL_BAD, **NTL_GOOD}.items():
        folder = tmp / f"n{len(cases)}" / "cmp"
        run = write_ntl_run(folder / "ce-seed0")
        if how in ("two", "dup"):
            write_ntl_run(folder / "was-seed0", "was" if how == "two" else "ce")
        elif isinstance(how, str) and ":" in how:
            _row_edit(how)(run)
        elif callable(how):
            how(run)
        raw = zip_folder(folder)
        if how == "corrupt-zip":
            raw = bytearray(raw)
            raw[len(raw) // 3:len(raw) // 3 + 100] = b"\0" * 100
            raw = bytes(raw)
        cases.append(("ntl", name, "bad" if name in NTL_BAD else "good", raw))
    return cases + data_cases()


def _mnist(n=(20, 8, 10), classes=(0, 1), images=None) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for split, k in zip(("train", "val", "test"), n):
        out[f"{split}_images"] = rng.integers(0, 256, size=(k, 28, 28), dtype=np.uint8) if images is None else images
        out[f"{split}_labels"] = np.array([classes[i % len(classes)] for i in range(k)], np.uint8)[:, None]
    return out


def data_cases() -> list[tuple[str, str, str, bytes]]:
    good = npz_bytes(_mnist())
    corrupt = bytearray(good)
    corrupt[len(corrupt) // 2:len(corrupt) // 2 + 100] = b"\0" * 100
    one_class = _mnist()
    one_class["test_labels"] = one_class["test_labels"] * 0
    bad = {"empty val split": npz_bytes({**_mnist(), "val_images": np.zeros((0, 28, 28), np.uint8),
                                         "val_labels": np.zeros((0, 1), np.uint8)}),
           "empty test split": npz_bytes({**_mnist(), "test_images": np.zeros((0, 28, 28), np.uint8),
                                          "test_labels": np.zeros((0, 1), np.uint8)}),
           "one-class test split": npz_bytes(one_class), "corrupt deflate": bytes(corrupt),
           "not a zip": b"PK\x03\x04 broken", "labels 5": npz_bytes({**_mnist(), "train_labels": np.full((20, 1), 5)}),
           "pickled labels": npz_bytes({**_mnist(), "val_labels": np.array([{}] * 8, dtype=object)})}
    return [("data", k, "bad", v) for k, v in bad.items()] + [("data", "a valid file", "good", good)]


# ----------------------------------------------------------------------------- running them on the pages
def _texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def _verdict(expect: str, loaded: bool, errors: list[str], exception: bool) -> str:
    if exception:
        return "uncaught"
    if loaded:
        return "accepted" if expect == "good" else "wrongly accepted"
    if expect == "good":
        return "wrongly refused"
    if not errors:
        return "wrongly accepted"
    return "unclear message" if any(PATHS.search(unescape(e)) or LINK.search(e) for e in errors) else "clear message"


def run_upload_case(apps: dict, case) -> tuple[str, str]:
    from streamlit.testing.v1 import AppTest

    viewer, name, expect, raw = case
    page, upload_key, button, result = {
        "qcbnn": ("pages/qcbnn_training.py", "qt_run_zip", "qt_run_open", "qt_runs"),
        "ntl": ("pages/ntl_training_lab.py", "lab_replay_zip", "lab_replay_open", "lab_replay"),
        "data": ("pages/qcbnn_training.py", "qt_upload", None, None)}[viewer]
    at = apps.get(viewer)
    if at is None or not [w for w in at.get("file_uploader") if w.key == upload_key]:  # new, or broken by a crash
        at = apps[viewer] = AppTest.from_file(str(ROOT / page), default_timeout=CASE_TIMEOUT_S)
        at.query_params.update({"epochs": "1", "ntrain": "16"} if viewer != "ntl" else {"steps": "10"})
        at.run()
        if viewer == "data":
            at.radio(key="qt_data").set_value("upload").run()
    suffix = ".npz" if viewer == "data" else ".zip"
    at.file_uploader(key=upload_key).set_value((f"case{suffix}", raw, "application/zip"))
    if button:
        at.button(key=button).click()
    at.run()
    errors = [e for e in _texts(at.error) if "Cannot open the run" in e or "Cannot use this data" in e]
    loaded = bool(at.session_state[result]) if result and result in at.session_state else (
        viewer == "data" and not errors)
    detail = (errors[0] if errors else "")[:160] or (str(at.exception[0].value)[:160] if at.exception else "")
    return _verdict(expect, loaded, errors, bool(at.exception)), detail


# ----------------------------------------------------------------------------- URL parameters
URL_VALUES = ["", " ", "²", "٣", "9" * 40, "9" * 5000, "-1", "0", "1", "1e309", "nan", "-inf", "1.5", "1.23456",
              "abc", "[Your account expired](https://example.com)", "![t](https://example.com/t.png)",
              "<img src=x onerror=alert(1)>", "a,b", ",", "1,,2", "0,0", "\n# heading", ":red[alert]", "$x^2$",
              "true", "3.0", " 3 ", "0x10", "1_000", "https://example.com", "\u202e", "x" * 3000]


def _pages():
    from pages._ui import common, explorer_state, ntl_lab_view, qcbnn_gen_view, qcbnn_train_view, tour

    extra = [common.SEED_URL]
    return {"pages/ntl_explorer.py": [explorer_state.URL, *extra, tour.TOUR_URL],
            "pages/qcbnn_generator.py": [qcbnn_gen_view.URL, *extra, tour.TOUR_URL],
            "pages/ntl_training_lab.py": [ntl_lab_view.URL, *extra],
            "pages/qcbnn_training.py": [qcbnn_train_view.URL, *extra]}


def _same(raw: str, shown: str) -> bool:
    """Whether a value written back to the URL denotes what the link said (``' 3'`` and ``3``, ``1.0`` and ``1``)."""
    a, b = raw.strip().split(","), shown.strip().split(",")
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.strip() == y.strip():
            continue
        try:
            if float(x) != float(y):
                return False
        except ValueError:
            return False
    return True


def url_cases() -> list[tuple[str, str]]:
    return [(page, value) for page in _pages() for value in URL_VALUES]


def _load(page: str, query: dict):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / page), default_timeout=CASE_TIMEOUT_S)
    at.query_params.update(query)
    return at.run()


def run_url_case(page: str, value: str) -> list[tuple[str, str, str]]:
    """``(parameter, outcome, detail)`` for each parameter of ``page`` set to ``value``."""
    params = [p for spec in _pages()[page] for p in spec.params.values()]
    at = _load(page, {p.name: value for p in params})
    loads = [(params, at)]
    if at.exception:  # find which parameter raised
        loads = [([p], _load(page, {p.name: value})) for p in params]
    out = []
    for group, load in loads:
        warnings = _texts(load.warning) + _texts(load.info)
        final = load.query_params
        for p in group:
            said = [w for w in warnings if f"{p.name}=" in unescape(w)]
            if load.exception:
                out.append((p.name, "uncaught", str(load.exception[0].value)[:120]))
            elif said:
                bad = [w for w in said if LINK.search(w)]
                out.append((p.name, "unclear message" if bad else "clear message", said[0][:120]))
            elif p.name not in final:
                out.append((p.name, "wrongly accepted", "dropped silently"))
            else:
                now = final[p.name][0] if isinstance(final[p.name], list) else final[p.name]
                ok = _same(value, now)
                out.append((p.name, "accepted" if ok else "wrongly accepted",
                            "" if ok else f"replaced silently by {now[:40]!r}"))
    return out


# ----------------------------------------------------------------------------- CLIs
def cli_cases(tmp: Path) -> list[tuple[str, str, list[str], Path | None]]:
    """``(name, expect, argv, folder to check afterwards)``; folders hold a user's file that must survive."""
    def user_folder(name: str) -> Path:
        folder = tmp / name
        (folder / "documents").mkdir(parents=True)
        (folder / "documents" / "thesis.tex").write_text("my thesis")
        return folder

    home = tmp / "home"
    (home / "notes").mkdir(parents=True)
    (home / "notes" / "keep.txt").write_text("keep")
    bad_npz = tmp / "corrupt.npz"
    raw = bytearray(npz_bytes(_mnist()))
    raw[len(raw) // 2:len(raw) // 2 + 100] = b"\0" * 100
    bad_npz.write_bytes(bytes(raw))
    empty_val, one_class = tmp / "empty_val.npz", tmp / "one_class.npz"
    empty_val.write_bytes(npz_bytes({**_mnist(), "val_images": np.zeros((0, 28, 28), np.uint8),
                                     "val_labels": np.zeros((0, 1), np.uint8)}))
    oc = _mnist()
    oc["test_labels"] = oc["test_labels"] * 0
    one_class.write_bytes(npz_bytes(oc))
    q = [sys.executable, "-m", "qcbnn_core", "train", "--epochs", "1", "--quiet", "--n-boot", "20"]
    n = [sys.executable, "-m", "ntl_core", "train", "--preset", "tiny", "--losses", "ce", "--seeds", "0",
         "--no-progress", "--no-weights"]
    ours = tmp / "ours"
    return [
        ("qcbnn --out user folder --overwrite", "bad", q + ["--out", str(user_folder("u1")), "--overwrite"], tmp / "u1"),
        ("ntl --out user folder --overwrite", "bad", n + ["--out", str(user_folder("u2")), "--overwrite"], tmp / "u2"),
        ("qcbnn --out / --overwrite", "bad", q + ["--out", "/", "--overwrite"], None),
        ("ntl --out / --overwrite", "bad", n + ["--out", "/", "--overwrite"], None),
        ("qcbnn --out ~ --overwrite", "bad", q + ["--out", str(home), "--overwrite"], home),
        ("ntl --out ~ --overwrite", "bad", n + ["--out", str(home), "--overwrite"], home),
        ("qcbnn --out user folder (no --overwrite)", "bad", q + ["--out", str(user_folder("u3"))], tmp / "u3"),
        ("qcbnn --out a file", "bad", q + ["--out", str(bad_npz)], None),
        ("qcbnn --data corrupt deflate", "bad", q + ["--data", str(bad_npz)], None),
        ("qcbnn --data empty val split", "bad", q + ["--data", str(empty_val)], None),
        ("qcbnn --data one-class test split", "bad", q + ["--data", str(one_class)], None),
        ("qcbnn --out new folder", "good", q + ["--out", str(ours)], None),
        ("qcbnn --out our run --overwrite", "good", q + ["--out", str(ours), "--overwrite"], None),
        ("ntl --out new folder", "good", n + ["--out", str(tmp / "ntl_ours")], None),
        ("ntl --out our comparison --overwrite", "good", n + ["--out", str(tmp / "ntl_ours"), "--overwrite"], None),
    ]


def run_cli_case(case, tmp: Path) -> tuple[str, str]:
    name, expect, argv, keep = case
    env = {**os.environ, "HOME": str(tmp / "home"), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    err = proc.stderr.strip().splitlines()
    last = err[-1] if err else ""
    lost = keep is not None and not any(keep.rglob("*.tex")) and not any(keep.rglob("keep.txt"))
    if "Traceback" in proc.stderr:
        return "uncaught", last[:160]
    if lost:
        return "wrongly accepted", f"user files deleted (rc {proc.returncode})"
    if proc.returncode == 0:
        return ("accepted" if expect == "good" else "wrongly accepted"), ""
    if expect == "good":
        return "wrongly refused", last[:160]
    return "clear message", last[:160]


# ----------------------------------------------------------------------------- child processes and watchdog
def child(group: str, start: int, tmp: Path) -> None:
    """Run ``group``'s cases from ``start``, one JSON line per result (``"at"`` lines mark the current case)."""
    apps: dict = {}
    cached = tmp / f"{group}.pickle"  # built once: a restarted child must not rebuild the bombs
    if cached.exists():
        cases = pickle.loads(cached.read_bytes())
    else:
        cases = {"uploads": lambda: upload_cases(tmp), "urls": url_cases, "clis": lambda: cli_cases(tmp)}[group]()
        cached.write_bytes(pickle.dumps(cases))
    for i, case in enumerate(cases[start:], start):
        print(json.dumps({"at": i, "of": len(cases)}), flush=True)
        if group == "uploads":
            rows = [(f"{case[0]}: {case[1]}", *run_upload_case(apps, case))]
        elif group == "urls":
            rows = [(f"{case[0]} {name}={case[1][:20]!r}", outcome, detail)
                    for name, outcome, detail in run_url_case(*case)]
        else:
            rows = [(case[0], *run_cli_case(case, tmp))]
        for row in rows:
            print(json.dumps({"case": row[0], "outcome": row[1], "detail": row[2]}), flush=True)


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024
    except (OSError, StopIteration):
        return 0.0


def parent(group: str, limit_mb: float, verbose: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="fuzz_"))
    counts: collections.Counter = collections.Counter()
    start, peak = 0, 0.0
    try:
        while True:
            proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz_inputs", group, "--child", str(start), "--tmp",
                                     str(tmp)], stdout=subprocess.PIPE, text=True, bufsize=1, cwd=ROOT)
            lines: queue.Queue = queue.Queue()
            threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
            current, total, since, killed = start, None, time.monotonic(), None
            while True:
                try:
                    line = lines.get(timeout=0.05)
                except queue.Empty:
                    line = None
                if line and not line.startswith('{"'):  # a library printing to stdout
                    continue
                if line:
                    msg = json.loads(line)
                    if "at" in msg:
                        current, total, since = msg["at"], msg["of"], time.monotonic()
                    else:
                        counts[msg["outcome"]] += 1
                        if verbose or msg["outcome"] not in ("accepted", "clear message"):
                            print(f"  {msg['outcome']:<16} {msg['case']}: {msg['detail']}", flush=True)
                    continue
                rss = _rss_mb(proc.pid)
                peak = max(peak, rss)
                if rss > limit_mb or time.monotonic() - since > CASE_TIMEOUT_S:
                    killed = f"{rss:.0f} MB" if rss > limit_mb else "hung"
                    proc.kill()
                    proc.wait()
                    break
                if proc.poll() is not None and lines.empty():
                    break
            if killed is None:
                break
            counts["server down"] += 1
            print(f"  server down      case {current}: {killed}", flush=True)
            start = current + 1
            if total is not None and start >= total:
                break
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tried = sum(counts.values())
    print(f"{group}: tried {tried}; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
          + f"; peak RSS of the child process {peak:.0f} MB")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("group", choices=["uploads", "urls", "clis"])
    ap.add_argument("--limit-mb", type=float, default=2500.0, help="page-process memory counted as a server kill")
    ap.add_argument("--verbose", action="store_true", help="print every case, not only the failures")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--tmp", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.group, args.child, args.tmp)
    else:
        parent(args.group, args.limit_mb, args.verbose)
