"""Figure builders: each model's loss on its own axis, fixed model colours, study colours distinct from them."""
from qcbnn_core import plots


def test_curves_figure_puts_each_loss_on_its_own_axis():
    hist = [{"epoch": e, "train_loss": 1.0 / e, "val_accuracy": 0.8, "val_ece": 0.1} for e in (1, 2)]
    fig = plots.curves_figure({"QCBNN": hist, "BNN": hist, "CNN": hist},
                              {"QCBNN": "SIVI KL bound", "BNN": "closed-form KL"})
    loss_axes = [t.yaxis for t in fig.data if t.showlegend is not False]
    assert len(set(loss_axes)) == 3  # one y-axis per model's −ELBO
    titles = [a.text for a in fig.layout.annotations]
    assert "QCBNN: −ELBO (SIVI KL bound)" in titles and "CNN: −ELBO" in titles and "validation ECE" in titles
    shared = {t.yaxis for t in fig.data if t.showlegend is False}
    assert len(shared) == 2  # accuracy and ECE: every model on the same two axes


def test_model_and_study_colours_are_distinct():
    fixed = set(plots.MODEL_COLORS.values())
    assert len(fixed) == 4
    study = {plots.color_of(name, i) for i, name in enumerate(["constrained_crx", "ry_cnot", "ry_crx",
                                                                "rot_all_to_all", "ryrz_product"])}
    assert len(study) == 5 and not study & fixed
