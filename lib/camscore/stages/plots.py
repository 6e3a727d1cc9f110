"""Figures as PNG bytes: a cross-validation's normalised confusion matrix and ROC curves."""

from __future__ import annotations

import io
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers and clusters

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from camscore.model.training import FoldResult  # noqa: E402


def confusion_matrix_png(results: Sequence[FoldResult], label_names: Sequence[str]) -> bytes:
    """The out-of-fold confusion matrix of all folds, each row normalised to the true label's frames."""
    counts = np.sum([np.array(r.confusion_matrix) for r in results], axis=0).astype(float)
    normalised = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    figure, axes = plt.subplots(figsize=(4.5, 4))
    image = axes.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    for (row, column), value in np.ndenumerate(normalised):
        axes.text(column, row, f"{value:.2f}", ha="center", va="center",
                  color="white" if value > 0.5 else "black")
    axes.set_xticks([0, 1], label_names)
    axes.set_yticks([0, 1], label_names)
    axes.set_xlabel("predicted label")
    axes.set_ylabel("true label")
    axes.set_title("Normalised confusion matrix\n(out-of-fold predictions)")
    figure.colorbar(image, ax=axes)
    return _png(figure)


def roc_png(results: Sequence[FoldResult], labels: np.ndarray) -> bytes:
    """One ROC curve per fold, with its AUC."""
    figure, axes = plt.subplots(figsize=(5, 4.5))
    for r in sorted(results, key=lambda r: r.fold):
        false_positive, true_positive, _ = roc_curve(labels[r.held_out], r.probabilities)
        axes.plot(false_positive, true_positive, label=f"fold {r.fold + 1} (AUC {r.auc:.4f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_title("ROC per fold")
    axes.legend(loc="lower right")
    return _png(figure)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
