"""GPU checks for a session lent a device (issue 2): one prepared script, a few minutes.

    python benchmarks/gpu.py --json            # on the device machine
    python benchmarks/gpu.py --json --small    # a CPU dry run of the same code paths

1. Figure-1-size instances (d=10, r=5, m=50, t=100, dopri5) batched 1024 at a time: instances per second,
   CPU vs GPU, and the largest deviation in discovery times between the two devices.
2. One vector-field evaluation at d=4096, m=65536 in float64 and float32 against the time of the two
   m x m x d GEMMs it contains (fraction of that roofline).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from solver import FlowConfig, kernels, solve
from solver.instances import figure1_truth


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def batched_figure1(device: str, batch: int, t_max: float) -> tuple[float, np.ndarray]:
    config = FlowConfig(t_max=t_max, m=50, device=device, n_save=100, record_components=False)
    t0 = time.perf_counter()
    traj = solve(figure1_truth(), config, seeds=range(batch))
    return batch / (time.perf_counter() - t0), traj.discovery()[0]


def field_vs_gemms(device: torch.device, dtype: torch.dtype, d: int, m: int, repeat: int = 3) -> dict:
    g = torch.Generator(device=device).manual_seed(0)
    X = torch.randn(1, d, m, dtype=dtype, device=device, generator=g)
    X /= X.norm(dim=1, keepdim=True)
    U = torch.linalg.qr(torch.randn(d, 8, dtype=dtype, device=device, generator=g))[0][None]
    a = torch.rand(1, 8, dtype=dtype, device=device, generator=g)
    c = torch.rand(1, m, dtype=dtype, device=device, generator=g)

    def timed(fn) -> float:
        fn()
        _sync(device)
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            _sync(device)
            best = min(best, time.perf_counter() - t0)
        return best

    t_field = timed(lambda: kernels.flow(X, c, a, U, 4))
    G = X.mT @ X
    t_gemms = timed(lambda: (X.mT @ X, X @ G))
    return {"field_seconds": t_field, "two_gemms_seconds": t_gemms, "roofline_fraction": t_gemms / t_field,
            "tflops": 4 * m * m * d / t_field / 1e12}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--small", action="store_true", help="small sizes (a CPU dry run)")
    args = parser.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    batch, t_max, d, m = (16, 40.0, 256, 2048) if args.small else (1024, 100.0, 4096, 65536)
    out: dict = {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu", "batch": batch}
    gpu_rate, gpu_times = batched_figure1(str(device), batch, t_max)
    cpu_batch = min(batch, 64)
    cpu_rate, cpu_times = batched_figure1("cpu", cpu_batch, t_max)
    out.update({"instances_per_second_device": gpu_rate, "instances_per_second_cpu": cpu_rate,
                "device_over_cpu": gpu_rate / cpu_rate,
                "discovery_time_max_deviation": float(np.nanmax(np.abs(gpu_times[:cpu_batch] - cpu_times)))})
    for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        out[f"field_{name}"] = field_vs_gemms(device, dtype, d, m)
    print(json.dumps(out, indent=2) if args.json else out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
