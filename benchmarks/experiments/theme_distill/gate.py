"""Gate a distilled theme top on the themes sets: the shipped folder plus the student, refitted, evaluated.

    python benchmarks/experiments/theme_distill/gate.py build/theme-top-L2-6-11 [--out build/variants/L2]

Run it in a worktree with ``theme_distill.diff`` applied (see ``run.sh``): the shipped service has no distilled top.

Copies ``models/themes`` to ``--out``/themes, adds the student's ``theme_top.*``, re-fits the language means
and the mapping threshold with that top (``TOUCHPOINTS_THEMES_DIR``), runs ``training.eval_themes`` and prints
the student's figures beside the shipped ``models/themes/metrics.json``: top-level ARI, unassigned share and
cross-language agreement per set. A student may replace the pretrained top only if no set loses beyond its
interval and held-out cross-language agreement stays ≥ 0.90 (issue #10's bar).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
TOP = "e5 themes (top level)"


def figures(metrics: dict) -> dict[str, dict[str, float | None]]:
    out = {}
    for name, s in metrics["sets"].items():
        top = s["methods"].get(TOP, {})
        cross = s.get("cross_language", {}).get("e5 themes", {})
        out[name] = {"ari": top.get("ari"), "unassigned": top.get("unassigned"),
                     "all_four_same": cross.get("all_four_same"),
                     "ari_vs_lexicon": (s.get("ari_vs_lexicon") or {}).get("diff")}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("student", type=Path, help="folder with theme_top.json and theme_top.safetensors")
    ap.add_argument("--out", type=Path, default=None, help="variant folder (default build/variants/<student name>)")
    args = ap.parse_args(argv)
    out = args.out or REPO_ROOT / "build" / "variants" / args.student.name
    themes = out / "themes"
    if themes.exists():
        shutil.rmtree(themes)
    shutil.copytree(REPO_ROOT / "models" / "themes", themes)
    for f in ("theme_top.json", "theme_top.safetensors"):
        shutil.copy2(args.student / f, themes / f)
    env = {**os.environ, "TOUCHPOINTS_THEMES_DIR": str(themes)}
    metrics = out / "metrics.json"
    timings = {}
    for step in (["training.fit_language_means"], ["training.calibrate_themes"],
                 ["training.eval_themes", "--json", str(metrics)]):
        t0 = time.time()
        subprocess.run([sys.executable, "-m", *step], cwd=REPO_ROOT, env=env, check=True)
        timings[step[0]] = round(time.time() - t0, 1)
    shipped = figures(json.loads((REPO_ROOT / "models" / "themes" / "metrics.json").read_text()))
    student = figures(json.loads(metrics.read_text()))
    print(f"\n{'set':<18}{'ARI shipped':>12}{'student':>9}{'unassigned':>12}{'student':>9}{'all four':>10}{'student':>9}")
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for name, a in shipped.items():
        b = student.get(name, {})
        print(f"{name:<18}{fmt(a['ari']):>12}{fmt(b.get('ari')):>9}{fmt(a['unassigned']):>12}"
              f"{fmt(b.get('unassigned')):>9}{fmt(a['all_four_same']):>10}{fmt(b.get('all_four_same')):>9}")
    (out / "gate.json").write_text(json.dumps({"shipped": shipped, "student": student, "seconds": timings}, indent=2) + "\n")
    print(f"\nwritten: {out / 'gate.json'}; seconds: {timings}")


if __name__ == "__main__":
    main()
