import numpy as np
import pytest

from camscore.errors import InputError
from camscore.model.training import assign_folds, evaluate, fit_booster, format_table, summarize


def test_stratified_folds_are_disjoint_cover_every_frame_and_keep_the_class_ratio():
    labels = np.array([0] * 30 + [1] * 20)

    folds = assign_folds(labels, folds=5, seed=2048)

    assert sorted(set(folds.tolist())) == [0, 1, 2, 3, 4]
    for fold in range(5):
        assert (labels[folds == fold] == 0).sum() == 6
        assert (labels[folds == fold] == 1).sum() == 4


def test_grouped_folds_keep_each_group_in_one_fold():
    labels = np.array([0, 1] * 30)
    groups = [f"cam-{i % 10}" for i in range(60)]

    folds = assign_folds(labels, folds=5, seed=2048, groups=groups)

    for camera in set(groups):
        assert len({fold for fold, group in zip(folds, groups) if group == camera}) == 1


def test_fewer_groups_than_folds_is_refused():
    with pytest.raises(InputError, match="needs at least 5 groups .* found 3"):
        assign_folds(np.array([0, 1] * 6), folds=5, seed=1, groups=["a", "b", "c"] * 4)


def test_a_fold_is_scored_with_every_metric():
    result = evaluate(0, np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.7, 0.9]), held_out=np.arange(4), rounds=3)

    assert result.accuracy == 0.75
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == 1.0
    assert result.f1 == pytest.approx(0.8)
    assert result.auc == 1.0
    assert result.confusion_matrix == [[1, 1], [0, 2]]


def test_the_table_has_a_row_per_fold_and_the_mean():
    results = [evaluate(i, np.array([0, 1]), np.array([0.2, 0.8]), held_out=np.arange(2), rounds=1)
               for i in range(3)]

    lines = format_table(results).splitlines()

    assert len(lines) == 5
    assert lines[1].split()[:2] == ["1", "1.000"]
    assert lines[-1].startswith("mean  1.000±0.000")
    assert summarize(results)["auc"] == {"mean": 1.0, "std": 0.0}


def test_early_stopping_keeps_fewer_rounds_than_asked():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 5))
    labels = (features[:, 0] + rng.normal(scale=2.0, size=200) > 0).astype(int)

    fit = fit_booster(features, labels, params={"min_child_weight": 1}, rounds=300, early_stopping_rounds=5)

    assert fit.rounds < 300

