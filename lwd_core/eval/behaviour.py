"""Behaviour metrics (paper §4.1, Table 1): how close generated policies' foot-contact patterns are to the original
behaviour policy's.

Each trajectory is summarised by its per-foot contact fractions, a point in [0, 1]^k (k feet). Two sets of
trajectories are compared by the Jensen-Shannon divergence of their empirical distributions, estimated by binning:
[0, 1] is cut into `bins` equal cells per foot (a k-dimensional grid; default 10 per foot for 2 feet and 5 per foot
for Ant's 4, so that a few dozen trajectories still fill the grid meaningfully), each set becomes a histogram of
probabilities, and

    JS(P, Q) = 1/2 KL(P || M) + 1/2 KL(Q || M),   M = (P + Q) / 2,

in nats. It lies in [0, ln 2]: 0 for identical histograms, ln 2 when they share no cell. No smoothing is needed:
M is positive wherever P or Q is.

The paper reports values far above ln 2 (for example 60.5 for the Walker2d random MLP), so its numbers are not
this bounded divergence. Values that large arise from a divergence of densities rather than probabilities (for
example KL or JS terms of unnormalised kernel density estimates, or log-ratios summed over bins without the
probability weights). Our table reports the bounded JS; only the ordering across methods is comparable to the
paper's."""
from __future__ import annotations

import numpy as np

LN2 = float(np.log(2.0))


def default_bins(k: int) -> int:
    return 10 if k <= 2 else 5


def histogram(points: np.ndarray, bins: int) -> np.ndarray:
    """points (n, k) in [0, 1] -> flat probability histogram over the bins^k grid."""
    p = np.clip(np.asarray(points, np.float64), 0.0, 1.0)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"need a non-empty (n, k) array of fractions, got shape {p.shape}")
    cell = np.minimum((p * bins).astype(int), bins - 1)                # 1.0 falls in the last cell
    flat = np.ravel_multi_index(cell.T, (bins,) * p.shape[1])
    h = np.bincount(flat, minlength=bins ** p.shape[1]).astype(np.float64)
    return h / h.sum()


def js_from_hist(p: np.ndarray, q: np.ndarray) -> float:
    m = 0.5 * (p + q)

    def kl(a):
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / m[nz])))
    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def js_divergence(a: np.ndarray, b: np.ndarray, bins: int | None = None) -> float:
    """JS divergence (nats, in [0, ln 2]) between two sets of per-trajectory foot-contact fractions (n, k)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two (n, k) arrays with the same k, got {a.shape} and {b.shape}")
    bins = bins or default_bins(a.shape[1])
    return js_from_hist(histogram(a, bins), histogram(b, bins))


def sos_split(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The paper's 'same original source' baseline: two successive halves of one policy's trajectories."""
    n = len(points) // 2
    return np.asarray(points[:n]), np.asarray(points[n:2 * n])
