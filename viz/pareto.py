"""The Pareto plot of an exploration (``spikeforge explore``): latency against logic, accuracy
as colour, the Pareto-optimal points ringed."""

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt

__all__ = ["pareto_plot"]

#: short board names for the labels
SHORT = {"icebreaker": "iCE", "ulx3s-85f": "ECP5"}


def _axes(point, build):
    """(latency or cycles, logic) of a point, or None when it has neither."""
    if point["status"] != "ok":
        return None
    if build:
        x, y = (point["build"] or {}).get("logic_cells"), point["latency_us"]
    else:
        x, y = (point["estimate"] or {}).get("luts"), point["cycles_per_inference"]
    return None if x is None or y is None else (x, y)


def pareto_plot(result, path="pareto.png"):
    """Plot the points of ``result`` (what :func:`spikeforge.sim.explore.explore` returns):
    with a build, latency (µs at Fmax) against logic cells; without, cycles per inference
    against the LUT4 estimate. Colour is the integer test accuracy (grey without a dataset);
    Pareto-optimal points (over latency, logic and accuracy) are ringed in red."""
    build = result["parameters"]["build"]
    shown = [(p, xy) for p in result["points"] if (xy := _axes(p, build)) is not None]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if shown:
        shown.sort(key=lambda item: item[0]["accuracy"] or 0)  # the most accurate on top
        xs = [xy[0] for _, xy in shown]
        ys = [xy[1] for _, xy in shown]
        accuracy = [p["accuracy"] for p, _ in shown]
        if all(a is not None for a in accuracy):
            dots = ax.scatter(xs, ys, c=[100 * a for a in accuracy], cmap="viridis", s=45,
                              zorder=3)
            fig.colorbar(dots, ax=ax, label="test accuracy (%)")
        else:
            ax.scatter(xs, ys, color="tab:gray", s=45, zorder=3)
        front = sorted(xy for p, xy in shown if p["pareto"])
        if front:
            ax.scatter(*zip(*front, strict=True), s=160, facecolors="none",
                       edgecolors="tab:red", linewidths=1.4, zorder=4, label="Pareto-optimal")
            ax.legend(fontsize=8, loc="upper right")
        labels = {}  # points in one place (other weight bits, other seeds) share a label
        for p, xy in shown:
            seed = "" if p["seed"] is None else f" s{p['seed']}"
            labels.setdefault(xy, []).append(
                f"P{p['lanes']} W{p['weight_bits']} {SHORT.get(p['board'], p['board'])}{seed}"
                + (" ★" if p["pareto"] else ""))
        for (x, y), names in labels.items():
            ax.annotate("\n".join(names), (x, y), textcoords="offset points", xytext=(6, 4),
                        fontsize=7, va="bottom")
        ax.margins(0.15)
    else:
        ax.text(0.5, 0.5, "no point succeeded", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("logic cells (LUT4)" if build else "LUT4 (estimate)")
    ax.set_ylabel("latency per inference (µs at Fmax)" if build else "cycles per inference")
    failed = result["failed"]
    ax.set_title(f"{result['network']}: {len(shown)} point(s)"
                 + (f", {failed} failed" if failed else ""))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
