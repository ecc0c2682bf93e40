"""The BreastMNIST study's plan: its runs, the selection rule on the validation split, stage 2's models."""
import math

from qcbnn_core import breastmnist_study as plan
from qcbnn_core.models import ModelConfig
from qcbnn_core.trainer import TrainConfig


def _rec(model, seed, val_gap, collapsed=False):
    return {"model": model, "seed": seed, "val": {"gap": {"predictive_entropy": val_gap}, "collapsed": collapsed}}


def test_stage1a_runs_every_family_and_control_on_the_selection_seeds():
    specs = plan.stage1a_specs()
    assert len(specs) == 8 * 5 and {s.seed for s in specs} == set(plan.SELECTION_SEEDS)
    assert {s.label for s in specs} == {f"qcbnn:{f}" for f in plan.FAMILIES} | {"mlp", "bnn", "cnn"}
    assert all(s.data["name"] == "breastmnist" and s.train["epochs"] == TrainConfig().epochs for s in specs)
    TrainConfig(**specs[0].train, seed=0)  # valid settings


def test_stage1b_varies_one_factor_at_a_time():
    specs = {s.label: s for s in plan.stage1b_specs("qcbnn:ry_crx", seeds=[0])}
    assert set(specs) == {f"qcbnn:ry_crx+{f}" for f in plan.FACTORS}
    assert ModelConfig.from_dict(specs["qcbnn:ry_crx+q8"].model).ansatz_overrides == {"n_qubits": 8}
    assert specs["qcbnn:ry_crx+lrq0.03"].train["lr_generator"] == 0.03
    assert specs["qcbnn:ry_crx+lrq0.03"].train["lr"] == TrainConfig().lr  # the classical part keeps its rate
    assert specs["qcbnn:ry_crx+s32"].train["n_samples_train"] == 32
    assert all(ModelConfig.from_dict(s.model).ansatz == "ry_crx" for s in specs.values())


def _stage1a(scores, collapsed=()):
    return [_rec(f"qcbnn:{f}", s, scores.get(f, 0.1), collapsed=(f, s) in collapsed)
            for f in plan.FAMILIES for s in plan.SELECTION_SEEDS]


def test_family_is_the_largest_mean_validation_gap_and_collapsed_families_are_out():
    recs = _stage1a({"ry_cnot": 0.3, "ry_crx": 0.2}, collapsed={("ry_cnot", 3)})
    assert plan.stage1a_family(recs) == "qcbnn:ry_crx"
    assert plan.stage1a_family(recs[:-1]) is None  # a family is missing a seed: not decided yet


def test_a_seed_without_a_defined_gap_excludes_the_configuration():
    recs = _stage1a({"ry_cnot": 0.3, "ry_crx": 0.2})
    recs = [r if (r["model"], r["seed"]) != ("qcbnn:ry_cnot", 0) else _rec("qcbnn:ry_cnot", 0, math.nan) for r in recs]
    assert plan.stage1a_family(recs) == "qcbnn:ry_crx"


def test_selected_is_the_best_of_the_family_and_its_variants_and_waits_for_stage_1b():
    recs = _stage1a({"ry_crx": 0.2})
    assert plan.selected(recs) is None
    for f in plan.FACTORS:
        recs += [_rec(f"qcbnn:ry_crx+{f}", s, 0.5 if f == "l6" else 0.1) for s in plan.SELECTION_SEEDS]
    assert plan.selected(recs) == "qcbnn:ry_crx+l6"


def test_stage2_trains_the_choice_the_paper_default_and_the_controls_on_fresh_seeds():
    specs = plan.stage2_specs("qcbnn:ry_crx+l6")
    assert {s.label for s in specs} == {"qcbnn:ry_crx+l6", plan.PAPER_DEFAULT, "mlp", "bnn", "cnn"}
    assert len(plan.CONFIRMATION_SEEDS) >= 10 and not set(plan.CONFIRMATION_SEEDS) & set(plan.SELECTION_SEEDS)
    assert len(plan.stage2_specs(plan.PAPER_DEFAULT)) == 4 * len(plan.CONFIRMATION_SEEDS)
    six = [s for s in specs if s.label == "qcbnn:ry_crx+l6"][0]
    assert ModelConfig.from_dict(six.model).ansatz_overrides == {"n_layers": 6}
