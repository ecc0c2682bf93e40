"""Both trainers call ``callback(event, trainer, row)``; the tqdm bar follows that convention."""
import io

from labkit.callbacks import EPOCH, EVAL, STEP, notify
from ntl_core.trainer import TqdmCallback as NTLProgress
from ntl_core.trainer import Trainer as NTLTrainer
from tests.unit.ntl_train_helpers import one_thread, tiny  # noqa: F401


def test_ntl_trainer_reports_steps_and_evals_with_the_rows_it_appends():
    seen = []
    trainer = NTLTrainer(tiny(eval_every=2), callbacks=[lambda event, tr, row: seen.append((event, tr, row))])
    trainer.step(2)
    assert [e for e, _, _ in seen] == [STEP, STEP, EVAL, EVAL]
    assert all(tr is trainer for _, tr, _ in seen)
    assert [row for _, _, row in seen] == trainer.history  # the very rows, in history order


def test_qcbnn_trainer_reports_steps_and_epochs():
    from qcbnn_core.data import make_phantom
    from qcbnn_core.models import ModelConfig
    from qcbnn_core.trainer import TrainConfig, Trainer

    seen = []
    trainer = Trainer(make_phantom(seed=0, splits=(32, 16, 16)), ModelConfig(kind="cnn"),
                      TrainConfig(epochs=1, batch_size=16, n_samples_eval=4, snapshot_samples=4, n_boot=5,
                                  device="cpu"),
                      callbacks=[lambda event, tr, row: seen.append((event, row))])
    trainer.fit()
    assert [e for e, _ in seen] == [STEP, STEP, EPOCH]
    assert [r for _, r in seen] == [*trainer.step_history, *trainer.history]


def test_progress_bar_counts_steps_shows_evals_and_notify_keeps_order():
    out = io.StringIO()
    bar = NTLProgress(total=2, desc="t")
    bar._kw["file"] = out  # the bar opens on the first event
    trainer = NTLTrainer(tiny(eval_every=2), callbacks=[bar])
    trainer.step(2)
    assert bar.bar.n == 2 and "em_extra" in bar.bar.postfix  # the last eval row shown
    bar.close()
    order = []
    notify([lambda *a: order.append(1), lambda *a: order.append(2)], STEP, None, {})
    assert order == [1, 2]


def test_a_batched_ensemble_reports_each_members_steps_and_evals_like_a_trainer():
    from ntl_core.ensemble import SeedEnsemble

    ens = SeedEnsemble(tiny(eval_every=2, eval_size=8), ["ce", "was"], [0], batched=True)
    seen = {key: [] for key in ens.members}
    for key, member in ens.members.items():
        member.callbacks.append(lambda event, tr, row, key=key: seen[key].append((event, tr, row)))
    ens.step(2)
    for key, member in ens.members.items():
        assert [e for e, _, _ in seen[key]] == [STEP, STEP, EVAL, EVAL]
        assert all(tr is member for _, tr, _ in seen[key]) and [r for _, _, r in seen[key]] == member.history
