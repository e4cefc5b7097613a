"""``deflation baselines``: the classical methods and the flows side by side on named instances
(:func:`verify.baselines.run_baselines`); writes ``baselines.json`` (atomically) and a figure."""

from __future__ import annotations

import argparse

from solver.spec import Command

from ..outputs import add_overwrite_argument, check_out_dir
from ._args import int_flag, list_flag

NAME = "baselines"
HELP = "Run the classical methods and the flows side by side on named instances."

# Kept in sync with verify.baselines (not imported here, so that --help loads no torch or tensorly).
_METHODS = ("tpm", "tensorly_power", "als_svd", "als_random", "exact_rank_flow", "plain_flow", "algorithm1")
_INSTANCES = ("figure1", "spread", "nonorthogonal", "order3", "large")
_ALL_INSTANCES = _INSTANCES + ("spread_random",)


def _names(kind: str, allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        bad = [n for n in names if n not in allowed]
        if not names or bad:
            raise argparse.ArgumentTypeError(f"must be comma-separated {kind} among {','.join(allowed)} "
                                             f"(got {text!r})")
        return names
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--instances", type=_names("instances", _ALL_INSTANCES), default=list(_INSTANCES),
                        help=f"comma-separated instance names (default: {','.join(_INSTANCES)}; also spread_random)")
    parser.add_argument("--methods", type=_names("methods", _METHODS), default=list(_METHODS),
                        help=f"comma-separated method names (default all: {','.join(_METHODS)})")
    parser.add_argument("--seeds", type=int_flag(), default=5, help="runs per method and instance, seeds 0.. (5)")
    parser.add_argument("--include-slow", action="store_true",
                        help="also run TensorLy's dense power iteration on 'large' (~1 min per seed)")
    parser.add_argument("--beyond", action="store_true",
                        help="run the beyond-the-paper study instead (coherence, orders 3-6); writes beyond.json")
    parser.add_argument("--coherences", type=list_flag(float), default=None,
                        help="with --beyond: mutual coherences of the u_j (default 0,0.1,...,0.5)")
    parser.add_argument("--orders", type=list_flag(int), default=None,
                        help="with --beyond: tensor orders (default 3,4,5,6)")
    parser.add_argument("--algorithms", type=_names("algorithms", ("plain", "modified")), default=None,
                        help="with --beyond: plain, modified or both (default both)")
    parser.add_argument("--out", default="results/baselines", help="output folder (default results/baselines)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="what to print (table)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    add_overwrite_argument(parser)


def run(args: argparse.Namespace) -> int:
    import json

    from solver.trajectory import atomic_write_json, json_safe

    from ..progress import ProgressBar

    out = check_out_dir(args.out, overwrite=args.overwrite)
    bar = ProgressBar(NAME, enabled=not args.quiet)
    bar.begin("loading torch and TensorLy")
    if args.beyond:
        from ..baselines import beyond

        chosen = {k: tuple(v) for k, v in (("coherences", args.coherences), ("orders", args.orders),
                                            ("algorithms", args.algorithms)) if v is not None}
        study = beyond.run_beyond(seeds=args.seeds, progress=bar, **chosen)
        bar.close()
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "beyond.json", study.to_dict())
        paths = beyond.plot_beyond(study, out / "beyond")
        print(json.dumps(json_safe(study.to_dict()), indent=2) if args.format == "json" else beyond.format_study(study))
        print(f"wrote {out / 'beyond.json'}, " + ", ".join(str(p) for p in paths))
        return 0

    from ..baselines import format_table, plot_baselines, run_baselines

    result = run_baselines(instances=args.instances, methods=args.methods, seeds=args.seeds,
                           include_slow=args.include_slow, progress=bar)
    bar.close()
    out.mkdir(parents=True, exist_ok=True)
    payload = result.to_dict()
    payload["command"] = _command(args)
    atomic_write_json(out / "baselines.json", payload)
    paths = plot_baselines(result, out / "baselines")
    print(json.dumps(json_safe(payload), indent=2) if args.format == "json" else format_table(result))
    print(f"wrote {out / 'baselines.json'}, " + ", ".join(str(p) for p in paths))
    return 0


def _command(args: argparse.Namespace) -> Command:
    argv = ["--instances", ",".join(args.instances), "--methods", ",".join(args.methods), "--seeds", str(args.seeds)]
    return Command(NAME, argv + (["--include-slow"] if args.include_slow else []), out=args.out)
