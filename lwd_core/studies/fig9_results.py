"""Fig. 9's results: the points of a sweep gathered into curves per method and condition, the paper's three
comparisons scored on them, and the report table, markdown and figure `reproduce fig9` writes (`fig9.py` plans and
runs the sweep)."""
from __future__ import annotations

import numpy as np

from .common import markdown_table, pyplot, report_table

METHODS = {"LWD": "lwd", "DP": "diffusion_policy"}          # label -> the evaluated policy kind
FLOOR = "hold still"                                         # the suite's reference every score is read against
# the paper's reading of its Fig. 9 (no table is printed): DP is best at H_a = 16, LWD at 8, and at about a 25%
# relative drop LWD needs a quarter of DP's diffusion queries
PAPER = {"best_horizon": {"LWD": 8, "DP": 16}, "query_ratio_at_25pct_drop": 0.25}


def point_of(ev: dict, label: str, kind: str, h: int, cond: str, seed: int, run_name: str) -> dict:
    pc = next(iter(ev["methods"][kind]["per_condition"].values()))
    queries = ev.get("diffusion_queries_per_episode", ev.get("queries_per_episode"))
    return {"method": label, "kind": kind, "horizon": h, "condition": cond, "seed": seed, "run": run_name,
            "score": float(pc["score"]), "success": float(pc["success"]), "queries": float(queries),
            "wall_per_episode": float(ev["seconds"]) / max(1, int(ev["episodes"])), "episodes": int(ev["episodes"])}


def aggregate(points: list[dict], horizons, conditions, floors: list[dict] | None = None) -> dict:
    """Mean and std over seeds per (method, condition, H_a); relative = score / the method's best score over H_a in
    that condition; then the paper's three comparisons. `floors`: the hold-still reference's score per condition
    and seed, averaged per condition."""
    curves: dict = {}
    for m in METHODS:
        for c in conditions:
            rows = []
            for h in horizons:
                ps = [p for p in points if p["method"] == m and p["condition"] == c and p["horizon"] == h]
                if not ps:
                    continue
                sc, su = np.array([p["score"] for p in ps]), np.array([p["success"] for p in ps])
                rows.append({"horizon": h, "score": float(sc.mean()), "score_std": float(sc.std()),
                             "success": float(su.mean()), "success_std": float(su.std()),
                             "queries": float(np.mean([p["queries"] for p in ps])),
                             "wall_per_episode": float(np.mean([p["wall_per_episode"] for p in ps])),
                             "seeds": len(ps), "episodes": sum(p["episodes"] for p in ps),
                             "runs": [f"{p['run']}-s{p['seed']}" for p in ps], "kind": ps[0].get("kind", "")})
            best = max((r["score"] for r in rows), default=0.0)
            for r in rows:
                r["relative"] = r["score"] / best if best > 0 else 0.0
            if rows:
                curves.setdefault(m, {})[c] = rows
    floor = {c: {k: float(np.mean([f[k] for f in floors or [] if f["condition"] == c])) for k in ("score", "success")}
             for c in conditions if any(f["condition"] == c for f in floors or [])}
    return {"curves": curves, "horizons": list(horizons), "conditions": list(conditions), "points": points,
            "targets": targets(curves), "paper": PAPER, "floor": floor, "floor_policy": FLOOR}


def _row(curves, m, c, h):
    return next((r for r in curves.get(m, {}).get(c, []) if r["horizon"] == h), None)


def targets(curves: dict) -> dict:
    out: dict = {}
    lwd64, dp64 = _row(curves, "LWD", "clean", 64), _row(curves, "DP", "clean", 64)
    if lwd64 and dp64:
        out["relative_at_64"] = {"LWD": lwd64["relative"], "DP": dp64["relative"],
                                 "met": 1 - lwd64["relative"] < 1 - dp64["relative"]}
    # the longest swept H_a whose relative performance is still >= 0.75, and its queries per episode
    at25 = {}
    for m in METHODS:
        rows = [r for r in curves.get(m, {}).get("clean", []) if r["relative"] >= 0.75]
        if rows:
            r = max(rows, key=lambda r: r["horizon"])
            at25[m] = {"horizon": r["horizon"], "queries": r["queries"], "relative": r["relative"]}
    if len(at25) == 2 and at25["DP"]["queries"] > 0:
        ratio = at25["LWD"]["queries"] / at25["DP"]["queries"]
        out["queries_at_25pct_drop"] = {**at25, "ratio": ratio, "met": ratio <= 0.25}
    pert = {}
    for h in (32, 64, 128):
        lw, dp = _row(curves, "LWD", "perturbed", h), _row(curves, "DP", "perturbed", h)
        if lw and dp:
            pert[str(h)] = {"LWD": lw["success"], "DP": dp["success"], "met": lw["success"] > dp["success"]}
    if pert:
        out["perturbed_success_ge_32"] = {"per_horizon": pert, "met": all(v["met"] for v in pert.values())}
    return out


def report(res: dict) -> dict:
    cols = ["method", "H_a", "score", "success", "relative", "queries / episode", "wall ms / episode"]
    conds = res["conditions"]
    if "perturbed" in conds:
        cols += ["score (perturbed)", "success (perturbed)", "relative (perturbed)"]
    rows = []
    for m, by in res["curves"].items():
        for r in by.get("clean", []):
            row = [m, r["horizon"], r["score"], r["success"], r["relative"], r["queries"],
                   round(1000 * r["wall_per_episode"], 1)]
            if "perturbed" in conds:
                p = _row(res["curves"], m, "perturbed", r["horizon"])
                row += [p["score"], p["success"], p["relative"]] if p else [None] * 3
            rows.append(row)
    fl = res.get("floor", {})
    if "clean" in fl:                   # the reference every score is read against, on the same start states
        row = [f"{res.get('floor_policy', FLOOR)} (floor)", None, fl["clean"]["score"], fl["clean"]["success"], None,
               0.0, None]
        if "perturbed" in conds:
            p = fl.get("perturbed", {})
            row += [p.get("score"), p.get("success"), None]
        rows.append(row)
    return report_table("Fig. 9: PushT coverage score against action horizon H_a", cols, rows)


def markdown(res: dict) -> str:
    lines = [markdown_table(res["report"]), ""]
    t = res["targets"]
    if "relative_at_64" in t:
        r = t["relative_at_64"]
        lines.append(f"- Relative performance at H_a = 64: LWD {r['LWD']:.2f}, DP {r['DP']:.2f} "
                     f"(target: LWD drops less) -> {'met' if r['met'] else 'missed'}")
    if "queries_at_25pct_drop" in t:
        r = t["queries_at_25pct_drop"]
        lines.append(f"- Longest H_a within a 25% relative drop: LWD {r['LWD']['horizon']} "
                     f"({r['LWD']['queries']:.1f} queries), DP {r['DP']['horizon']} ({r['DP']['queries']:.1f}); "
                     f"ratio {r['ratio']:.2f} (target <= 0.25) -> {'met' if r['met'] else 'missed'}")
    if "perturbed_success_ge_32" in t:
        r = t["perturbed_success_ge_32"]
        per = ", ".join(f"H_a={h}: LWD {v['LWD']:.2f} vs DP {v['DP']:.2f}" for h, v in r["per_horizon"].items())
        lines.append(f"- Perturbed success at H_a >= 32 ({per}; target: LWD above DP) -> "
                     f"{'met' if r['met'] else 'missed'}")
    for d in res.get("diagnosis", []):
        pr = d.get("precision") or {}
        if "vae" in pr and "diffusion" in pr:
            lines.append(f"- LWD's action error near the goal (seed {d['seed']}): the VAE decoding the training "
                         f"windows' latents {pr['vae']['near_goal_rmse_px']:.1f} px RMS, policies the diffusion "
                         f"model samples for the same first states {pr['diffusion']['near_goal_rmse_px']:.1f} px")
        if "demonstrations" in pr:
            lines.append(f"- The demonstrations' own spread near the goal (seed {d['seed']}): the latents of the "
                         f"training windows of other episodes that start nearest the same states, "
                         f"{pr['demonstrations']['near_goal_rmse_px']:.1f} px (a diffusion model that samples "
                         f"p(z | s) faithfully lands near this)")
        nw = d.get("nearest_window")
        if nw:
            lines.append(f"- LWD with the nearest training window's latent instead of a diffusion sample, H_a = "
                         f"{nw['horizon']}: score {nw['score']:.3f}, success {nw['success']:.2f}")
    if "demonstrations" in res:
        lines.append(f"- Trained on {res['demonstrations']} planner demonstrations (`collect pusht --seed 0`)")
    ts = res.get("train_seconds", {})
    if ts:
        lines.append("- Training time, all seeds: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in ts.items()))
    return "\n".join(lines) + "\n"


def figure(res: dict):
    """2x2: absolute score, success rate, relative score with queries per episode on a second axis, wall time."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    colors = {"LWD": "tab:blue", "DP": "tab:orange"}
    style = {"clean": "-", "perturbed": "--"}
    twin = axes[1, 0].twinx()
    for m, by in res["curves"].items():
        for c, rows in by.items():
            h = [r["horizon"] for r in rows]
            kw = dict(color=colors.get(m), linestyle=style[c], marker="o", label=f"{m} ({c})")
            axes[0, 0].errorbar(h, [r["score"] for r in rows], yerr=[r["score_std"] for r in rows], capsize=3, **kw)
            axes[0, 1].errorbar(h, [r["success"] for r in rows], yerr=[r["success_std"] for r in rows], capsize=3,
                                **kw)
            axes[1, 0].plot(h, [r["relative"] for r in rows], **kw)
            if c == "clean":
                twin.plot(h, [r["queries"] for r in rows], color=colors.get(m), linestyle=":", marker="x",
                          alpha=0.6, label=f"{m} queries")
            axes[1, 1].plot(h, [1000 * r["wall_per_episode"] for r in rows], **kw)
    for ax, title in ((axes[0, 0], "mean coverage score"), (axes[0, 1], "success rate (coverage > 0.95)"),
                      (axes[1, 0], "score relative to the method's best H_a"),
                      (axes[1, 1], "evaluation wall time per episode (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(res["horizons"], [str(h) for h in res["horizons"]])
        ax.set_xlabel("action horizon H_a")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    for c, fl in res.get("floor", {}).items():         # the hold-still reference, on the same start states
        for ax, key in ((axes[0, 0], "score"), (axes[0, 1], "success")):
            ax.axhline(fl[key], color="gray", linestyle=style[c], linewidth=1,
                       label=f"{res.get('floor_policy', FLOOR)} ({c})")
    for ax in (axes[0, 0], axes[0, 1], axes[1, 0]):
        ax.set_ylim(0, 1.05)
    twin.set_yscale("log")
    twin.set_ylabel("diffusion queries per episode (dotted)")
    axes[0, 0].legend(fontsize=8)
    twin.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"PushT, action horizon: LWD (closed-loop policies) vs Diffusion Policy (open-loop chunks)"
                 f"{' [quick]' if res.get('quick') else ''}", fontsize=11)
    fig.tight_layout()
    return fig
