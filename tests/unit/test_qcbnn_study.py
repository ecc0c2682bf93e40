"""Multi-seed comparisons: the t-interval against scipy, paired differences by seed, model specs, and the
CLI (comma-separated models, --seeds, --jobs in spawned processes, JSON keys)."""
import json
import math

import numpy as np
import pytest
from scipy import stats

from qcbnn_core.cli import main
from qcbnn_core.study import best_family, format_summary, mean_ci, parse_spec, summarize, verdict
from tests.unit.qcbnn_doubles import torch_one_thread  # noqa: F401

MEASURES = ("predictive_entropy", "expected_entropy", "mutual_information", "std_p_positive")


def test_mean_ci_is_the_student_t_interval():
    v = [0.1, 0.4, 0.35, 0.2, 0.5]
    lo, hi = stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
    s = mean_ci(v)
    assert s["mean"] == pytest.approx(np.mean(v)) and (s["ci_low"], s["ci_high"]) == pytest.approx((lo, hi))
    one = mean_ci([0.3, float("nan")])
    assert one["n"] == 1 and math.isnan(one["ci_low"])


def _rec(model, seed, acc, gap, auroc=0.7, collapsed=False):
    return {"model": model, "seed": seed, "accuracy": acc, "balanced_accuracy": acc, "ece": 0.05, "weight_std": 0.1, "collapsed": collapsed,
            "gap": {m: gap for m in MEASURES}, "auroc": {m: auroc for m in MEASURES}}


def test_summarize_pairs_differences_by_seed():
    recs = [_rec("bnn", s, 0.9, 0.1 + 0.1 * s) for s in range(3)]
    recs += [_rec("qcbnn", s, 0.88, 0.15 + 0.1 * s + 0.01 * (s % 2)) for s in (2, 0, 1)]  # order does not matter
    recs.append(_rec("cnn", 0, 0.5, 0.0, collapsed=True))
    out = summarize(recs)
    assert out["seeds"] == [0, 1, 2] and out["baseline"] == "bnn"
    d = out["paired"]["qcbnn"]["gap"]["predictive_entropy"]
    diffs = [0.05, 0.06, 0.05]
    assert d["mean"] == pytest.approx(np.mean(diffs)) and d["sd"] == pytest.approx(np.std(diffs, ddof=1))
    # unpaired CI of the means is much wider than the paired one: the seeds' common variation cancels
    assert out["models"]["qcbnn"]["gap"]["predictive_entropy"]["ci_high"] - d["mean"] > d["ci_high"] - d["mean"]
    assert out["paired"]["qcbnn"]["accuracy"]["mean"] == pytest.approx(-0.02)
    assert out["models"]["cnn"]["collapsed_runs"] == 1 and out["paired"]["cnn"]["accuracy"]["n"] == 1
    assert "bnn" not in out["paired"] and "auroc" in out["models"]["bnn"]
    text = format_summary(out)
    assert "paired differences" in text and "(1 collapsed)" in text


def test_parse_spec():
    cfg = parse_spec("qcbnn:ry_cnot", "constrained_crx", "semi_implicit")
    assert (cfg.kind, cfg.ansatz, cfg.mechanism) == ("qcbnn", "ry_cnot", "semi_implicit")
    cfg = parse_spec("qcbnn::born", "constrained_crx", "semi_implicit")
    assert (cfg.ansatz, cfg.mechanism) == ("constrained_crx", "born")
    for bad in ("gp", "qcbnn:nope", "qcbnn::gan", "qcbnn:a:b:c"):
        with pytest.raises(ValueError):
            parse_spec(bad, "constrained_crx", "semi_implicit")


TINY = ["--data", "digits", "--epochs", "1", "--samples-train", "2", "--samples-eval", "8", "--n-boot", "20",
        "--n-layers", "1", "--sivi-draws", "4", "--quiet", "--device", "cpu"]


def test_cli_multi_seed_json_with_two_jobs(capsys):
    assert main(["train", "--model", "qcbnn,mlp,bnn,cnn", "--seeds", "0,1", "--jobs", "2", "--json", *TINY]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["seeds"] == [0, 1] and out["jobs"] == 2 and "wall time" in captured.err
    assert set(out["models"]) == {"qcbnn", "mlp", "bnn", "cnn"} and set(out["paired"]) == {"qcbnn", "mlp", "cnn"}
    assert 0 <= out["models"]["mlp"]["auroc"]["predictive_entropy"]["mean"] <= 1
    assert len(out["runs"]) == 8 and out["wall_seconds"] > 0
    # a seed's run is the same whichever process ran it: same seed, same numbers as a one-process run
    main(["train", "--model", "mlp", "--seeds", "1", "--json", *TINY])
    again = json.loads(capsys.readouterr().out)["runs"][0]
    first = next(r for r in out["runs"] if r["model"] == "mlp" and r["seed"] == 1)
    assert again["accuracy"] == first["accuracy"] and again["gap"] == pytest.approx(first["gap"])


def test_cli_table_and_errors(capsys):
    assert main(["train", "--model", "cnn,bnn", "--seeds", "3", *TINY]) == 0
    text = capsys.readouterr().out
    assert "paired differences (model − bnn)" in text and "wall time" in text
    for argv, msg in ((["--model", "bnn,bnn"], "distinct"), (["--model", "bnn,cnn", "--out", "x"], "--out"),
                      (["--model", "bnn,cnn", "--jobs", "0"], "jobs")):
        with pytest.raises(SystemExit) as exc:
            main(["train", *argv, *TINY])
        assert exc.value.code == 2 and msg in capsys.readouterr().err


def _study(q_gaps, b_gaps, c_gaps, born_gaps=(0.9,) * 4):
    recs = []
    for s, (q, b, c, born) in enumerate(zip(q_gaps, b_gaps, c_gaps, born_gaps)):
        recs += [_rec("qcbnn", s, 0.85, q, 0.8), _rec("bnn", s, 0.9, b, 0.75), _rec("mlp", s, 0.86, c, 0.8),
                 _rec("qcbnn::born", s, 0.9, born), _rec("qcbnn:ry_cnot", s, 0.9, q - 0.01),
                 _rec("qcbnn:ryrz_product", s, 0.5, 5.0, collapsed=(s == 0))]
    return summarize(recs)


def test_best_family_skips_born_and_collapsed_models():
    assert best_family(_study([0.3, 0.4, 0.35, 0.32], [0.1] * 4, [0.1] * 4)) == "qcbnn"
    assert best_family(summarize([_rec("bnn", 0, 0.9, 0.1)])) is None


def test_verdict_follows_the_preregistered_rule():
    quantum = verdict(_study([0.30, 0.41, 0.35, 0.33], [0.10, 0.20, 0.12, 0.15], [0.11, 0.19, 0.13, 0.14]), "qcbnn")
    assert quantum["larger_than_baseline"] == "above" and quantum["larger_than_control"] == "above"
    assert quantum["quantum_effect"] and "attributed to the circuit" in quantum["text"]
    assert quantum["accuracy_cost"]["mean"] == pytest.approx(-0.05) and quantum["auroc_vs_baseline"] == "above"
    low_rank = verdict(_study([0.30, 0.41, 0.35, 0.33], [0.10, 0.20, 0.12, 0.15], [0.31, 0.40, 0.36, 0.33]), "qcbnn")
    assert low_rank["larger_than_control"] == "includes" and not low_rank["quantum_effect"]
    assert "not a quantum effect" in low_rank["text"]
    noise = verdict(_study([0.30, 0.10, 0.35, 0.12], [0.20, 0.20, 0.20, 0.20], [0.2] * 4), "qcbnn")
    assert noise["larger_than_baseline"] == "includes" and "NOT established" in noise["text"]


def test_load_summary_reads_strict_json_nan_back(tmp_path):
    from labkit.strict_json import jsonable

    from qcbnn_core.study import load_summary

    recs = [_rec("bnn", 0, 0.9, float("nan")), _rec("bnn", 1, 0.9, 0.2)]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(jsonable(summarize(recs)), allow_nan=False))
    back = load_summary(path)
    assert math.isnan(back["runs"][0]["gap"]["predictive_entropy"]) and back["models"]["bnn"]["gap"][
        "predictive_entropy"]["n"] == 1
    assert "n/a" in format_summary(back) or "0.200" in format_summary(back)
    path.write_text("{}")
    with pytest.raises(ValueError, match="not a multi-seed summary"):
        load_summary(path)


def test_verdict_says_when_a_gap_is_undefined_on_most_seeds():
    nan = float("nan")
    out = verdict(_study([0.3, nan, nan, nan], [0.1, nan, nan, nan], [0.2, nan, nan, nan]), "qcbnn")
    assert out["larger_than_baseline"] == "undefined" and not out["quantum_effect"]
    assert "defined on 1 of 4 seeds only: no CI" in out["text"] and "NOT established" in out["text"]


def test_bounded_metrics_keep_their_intervals_inside_their_range():
    # Two seeds with accuracies 0.72 and 1.0 gave "0.58–1.15" under a t-interval; proportions now use the bootstrap.
    recs = [_rec("bnn", 0, 0.72, 0.1, auroc=0.55), _rec("bnn", 1, 1.0, 0.3, auroc=0.99),
            _rec("qcbnn", 0, 1.0, 0.2, auroc=1.0), _rec("qcbnn", 1, 1.0, 0.2, auroc=1.0)]
    out = summarize(recs)
    acc = out["models"]["bnn"]["accuracy"]
    assert acc["method"] == "bootstrap" and 0.72 <= acc["ci_low"] <= acc["ci_high"] <= 1.0
    auroc = out["models"]["bnn"]["auroc"]["predictive_entropy"]
    assert auroc["method"] == "bootstrap" and 0.0 <= auroc["ci_low"] and auroc["ci_high"] <= 1.0
    all_correct = out["models"]["qcbnn"]["accuracy"]
    assert all_correct["ci_low"] == all_correct["ci_high"] == 1.0
    diff = out["paired"]["qcbnn"]["accuracy"]
    assert -1.0 <= diff["ci_low"] <= diff["ci_high"] <= 1.0
    assert out["models"]["bnn"]["gap"]["predictive_entropy"]["method"] == "t"  # gaps are not proportions
