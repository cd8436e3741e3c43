"""PNG plots for reports: spike rasters (reference and hardware overlaid), membrane traces,
training curves and accuracy against weight width."""

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["accuracy_vs_bits", "membrane_traces", "resource_bars", "spike_raster",
           "training_curve"]


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def spike_raster(inputs, reference, hardware=None, path="raster.png", title=""):
    """Rasters of the input and of every layer for one sample.

    ``inputs`` (T, n_in); ``reference`` and ``hardware`` lists of (T, n) spike arrays, one per
    layer. Reference spikes are dots, hardware spikes open circles around them: a dot without a
    circle, or a circle without a dot, is a mismatch.
    """
    panels = [("input", inputs, None)] + [
        (f"layer {k}", ref, None if hardware is None else hardware[k])
        for k, ref in enumerate(reference)
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.2 * len(panels)), sharex=True)
    for ax, (name, ref, hw) in zip(np.atleast_1d(axes), panels, strict=True):
        t, n = np.nonzero(ref)
        ax.scatter(t, n, s=6, c="black", label="reference")
        if hw is not None:
            th, nh = np.nonzero(hw)
            ax.scatter(
                th,
                nh,
                s=40,
                facecolors="none",
                edgecolors="tab:red",
                linewidths=0.8,
                label="hardware",
            )
        ax.set_ylabel(f"{name}\nneuron")
        ax.set_ylim(-1, ref.shape[1])
    axes = np.atleast_1d(axes)
    axes[-1].set_xlabel("time step")
    axes[1 if len(axes) > 1 else 0].legend(loc="upper right", fontsize=7)
    fig.suptitle(title or "spike raster")
    return _save(fig, path)


def membrane_traces(u, theta, neurons, path="membrane.png", title="", hardware=None):
    """Membrane potential U of a few ``neurons`` of one layer over time, with the threshold."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for k in neurons:
        (line,) = ax.plot(u[:, k], drawstyle="steps-post", label=f"neuron {k}")
        if hardware is not None:
            ax.plot(hardware[:, k], "o", ms=3, color=line.get_color(), alpha=0.6)
    if theta is not None:
        ax.axhline(theta, ls="--", color="gray", label="θ")
    ax.set_xlabel("time step")
    ax.set_ylabel("U (integer)")
    ax.legend(fontsize=7, ncol=3)
    ax.set_title(title or "membrane potential")
    return _save(fig, path)


def training_curve(history, path="training.png", title=""):
    """Loss and accuracy per epoch from a training history (list of dicts)."""
    epochs = [m["epoch"] for m in history]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(epochs, [m["loss"] for m in history], color="tab:blue", label="loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(epochs, [m["train_accuracy"] for m in history], color="tab:orange", label="train")
    ax2.plot(epochs, [m["test_accuracy"] for m in history], color="tab:green", label="test")
    ax2.set_ylabel("accuracy")
    ax2.set_ylim(0, 1)
    ax2.legend(loc="lower right", fontsize=8)
    ax.set_title(title or "training")
    return _save(fig, path)


def accuracy_vs_bits(rows, baseline=None, path="accuracy_bits.png"):
    """Integer test accuracy against weight width (rows of ``weight_bits``, ``int_accuracy``)."""
    bits = [r["weight_bits"] for r in rows]
    acc = [100 * r["int_accuracy"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(bits, acc, "o-", label="spikeforge (integer)")
    if baseline is not None:
        ax.axhline(100 * baseline, ls="--", color="gray", label="snnTorch float baseline")
    ax.set_xlabel("weight bits")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xticks(bits)
    ax.legend(fontsize=8)
    ax.set_title("accuracy vs weight width")
    return _save(fig, path)


def resource_bars(boards, path="resources.png"):
    """Share of each board's logic, block RAM and DSPs the design uses.

    ``boards``: {board: {"logic": (used, total), "bram": (used, total), "dsp": (used, total),
    "fmax_mhz": float}}.
    """
    kinds = ("logic", "bram", "dsp")
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    width = 0.8 / max(1, len(boards))
    for i, (board, row) in enumerate(boards.items()):
        shares = [100 * row[k][0] / row[k][1] if row[k][1] else 0 for k in kinds]
        bars = ax.bar(np.arange(len(kinds)) + i * width, shares, width,
                      label=f"{board} (Fmax {row['fmax_mhz']:.1f} MHz)")
        for bar, k in zip(bars, kinds, strict=True):
            ax.annotate(f"{row[k][0]}/{row[k][1]}", (bar.get_x() + bar.get_width() / 2,
                        bar.get_height()), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(np.arange(len(kinds)) + width * (len(boards) - 1) / 2,
                  ["logic cells", "block RAM", "DSP"])
    ax.set_ylabel("used (%)")
    ax.set_ylim(0, 115)
    ax.legend(fontsize=8)
    ax.set_title("resources per board (digits network)")
    return _save(fig, path)
