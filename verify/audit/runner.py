"""Run the audit: every stage in order, each isolated, then the ledger, then the three output files."""

from __future__ import annotations

import datetime as _dt
import os
import pickle
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

from solver.trajectory import atomic_write_bytes, atomic_write_json, package_versions

from ..progress import ProgressBar
from ._types import AuditReport, Machine, Stage, StageContext, StageResult
from .ledger import decide_ledger
from .profiles import Profile
from .render import RENDER_STATE, render_html, render_markdown
from .stages import STAGES

__all__ = ["run_audit", "FORMAT", "SCHEMA_PATH", "versions"]

FORMAT = "deflation-verify audit report v1"
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def versions() -> dict[str, str]:
    """Versions of Python, the numeric stack, this package and the git commit of the working tree."""
    out = {"platform": platform.platform(), **package_versions(
        ("deflation-verify", "numpy", "scipy", "torch", "sympy", "mpmath", "matplotlib", "latex2mathml"),
        missing="not installed")}
    try:
        root = Path(__file__).resolve().parents[2]
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        out["git_commit"] = (commit + ("+dirty" if dirty else "")) if commit else "unknown"
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = "unknown"
    return out


def _run_stage(stage: Stage, ctx: StageContext, failed: set[str]) -> StageResult:
    """One stage, isolated: an exception (including a missing module) becomes ``failed`` with its error and
    traceback; a stage whose required stage failed is ``skipped``."""
    result = StageResult(name=stage.name, title=stage.title)
    missing = [name for name in stage.requires if name in failed]
    if missing:
        result.status = "skipped"
        result.error = f"needs stage(s) {', '.join(missing)}, which did not finish"
        return result
    start = time.perf_counter()
    try:
        stage.run(ctx, result)
    except Exception as err:  # any failure of one stage is reported; the other stages still run
        result.status = "failed"
        result.error = f"{type(err).__name__}: {err}"
        result.traceback = traceback.format_exc(limit=8)
        result.results = None  # a half-finished stage's results and figures are not evidence
        result.figures = []
    result.seconds = time.perf_counter() - start
    return result


def run_audit(profile: Profile, out: Path, *, progress: bool = True, device: str = "cpu",
              stages: Sequence[Stage] = STAGES, command: str | None = None, seed: int = 0) -> AuditReport:
    """Run ``stages`` at ``profile``'s sizes, decide the ledger, write ``out/report.json`` (from
    :meth:`AuditReport.to_dict`), ``out/index.html`` and ``out/report.md`` (rendered from the same objects,
    which are also pickled to ``out/report.pickle`` for :func:`verify.audit.render.rerender`); return the
    report. ``seed`` chooses the evidence store's rows that the spot-check re-runs."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bar = ProgressBar("audit", enabled=progress)
    ctx = StageContext(profile=profile, out=out, progress=bar, device=device, seed=int(seed))
    started = time.perf_counter()
    results: dict[str, StageResult] = {}
    failed: set[str] = set()
    for i, stage in enumerate(stages, 1):
        bar.label = f"audit {i}/{len(stages)} {stage.name}"
        bar.message(f"start: {stage.title}")
        result = _run_stage(stage, ctx, failed)
        bar.close()
        if not result.ok:
            failed.add(stage.name)
        bar.message(f"{result.status} in {result.seconds:.1f} s" + (f": {result.error}" if result.error else ""))
        results[stage.name] = result
    bar.label = "audit"
    report = AuditReport(
        format=FORMAT, generated=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        command=command or f"deflation audit --profile {profile.name} --out {out}",
        wall_seconds=time.perf_counter() - started, profile=profile, versions=versions(),
        machine=Machine(cpus=os.cpu_count(), device=device, omp_num_threads=os.environ.get("OMP_NUM_THREADS")),
        ledger=decide_ledger(results), stages=list(results.values()))
    atomic_write_json(out / "report.json", report.to_dict())
    # The objects the pages are rendered from, for re-rendering after a template change without re-running
    # the stages (``python -m verify.audit.render OUT``); same code version only, report.json is the record.
    atomic_write_bytes(out / RENDER_STATE, pickle.dumps(report))
    atomic_write_bytes(out / "report.schema.json", SCHEMA_PATH.read_bytes())
    atomic_write_bytes(out / "index.html", render_html(report, out).encode())
    atomic_write_bytes(out / "report.md", render_markdown(report).encode())
    bar.message(f"ledger: {report.counts()}; wrote {out / 'index.html'}, report.json, report.md in "
                f"{report.wall_seconds:.0f} s")
    return report


if __name__ == "__main__":  # pragma: no cover - convenience
    from .profiles import get_profile

    run_audit(get_profile(sys.argv[1] if len(sys.argv) > 1 else "test"), Path("results/audit-dev"))
