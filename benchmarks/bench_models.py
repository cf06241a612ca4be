"""Training speed of every registered model on this machine, against its matmul peak.

Per model (small size unless --size full): train clips/s (forward + backward + AdamW step on random
input, batch 8), forward GFLOPs per clip, the achieved GFLOP/s (3x forward for a training step), and
that figure as a share of this machine's matmul peak measured in the same run, in fp32 and under bf16
autocast; whether bf16 gradients are finite and deterministic (`bf16 grads`); and the precision the recipe
picks on a CPU with bf16 units (`recipe`: Recipe.bf16, set where bf16 measured faster and safe). Models
whose recipe trains channels-last (the `layout` column) are timed in that layout.

    python -m benchmarks.bench_models [--models c3d videomae] [--threads 2] [--seconds 4]
"""
from __future__ import annotations

import argparse
import time

import torch

from src.models.build import build_model
from src.models.registry import MODELS, input_spec
from src.reporting.metrics import count_flops


def matmul_peak(dtype: torch.dtype, n: int = 2048, seconds: float = 2.0) -> float:
    """GFLOP/s of an n x n matmul in `dtype` (the machine's practical peak for dense work)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


def example(name: str, size: str, batch: int) -> torch.Tensor:
    spec = input_spec(name, size)
    if spec.kind == "pose":
        return torch.randn(batch, spec.num_frames, 33, 4)
    return torch.randn(batch, 3, spec.num_frames, spec.size, spec.size)


def train_rate(model, x: torch.Tensor, bf16: bool, seconds: float) -> float:
    """Clips/s of full training steps (after two warm-up steps)."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    y = torch.randint(0, 8, (len(x),))
    model.train()

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    step(), step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += len(x)
    return n / (time.perf_counter() - t0)


def bf16_gradients_safe(model, x: torch.Tensor, repeats: int = 4) -> bool:
    """Whether bf16-autocast gradients are finite and the same bit for bit when one step is repeated on the same
    input: oneDNN's bf16 conv3d weight gradients on small grids were neither on an AVX512-BF16 CPU (random
    NaNs, a different result each time), which Recipe.bf16 must never enable."""
    y = torch.randint(0, 8, (len(x),))
    model.train()
    for _ in range(repeats):
        grads = []
        for _ in range(2):
            torch.manual_seed(1)  # the same dropout masks
            model.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = torch.nn.functional.cross_entropy(model(x).float(), y)
            loss.backward()
            grads.append(torch.cat([p.grad.flatten().float() for p in model.parameters() if p.grad is not None]))
        if not (torch.isfinite(grads[0]).all() and torch.equal(grads[0], grads[1])):
            return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # fusion trains nothing but one weight on its parts' scores (src/models/fusion.py): its parts are benchmarked
    ap.add_argument("--models", nargs="*", default=[m for m, e in MODELS.items() if e.kind != "fusion"])
    ap.add_argument("--size", default="small", choices=("small", "full"))
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=4.0, help="timing window per model and precision")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    peak32, peak16 = matmul_peak(torch.float32), matmul_peak(torch.bfloat16)
    print(f"threads {torch.get_num_threads()}; matmul peak: fp32 {peak32:.0f} GFLOP/s, bf16 {peak16:.0f} GFLOP/s")
    print(f"{'model':14} {'layout':>7} {'GFLOPs/clip':>11} {'fp32 clips/s':>12} {'GFLOP/s':>8} {'%peak':>6} "
          f"{'bf16 clips/s':>12} {'GFLOP/s':>8} {'%peak':>6} {'bf16 grads':>10} {'recipe':>7}")
    for name in args.models:
        torch.manual_seed(0)
        model = build_model(name, 8, args.size)
        x = example(name, args.size, args.batch)
        channels_last = MODELS[name].recipe.channels_last and x.dim() == 5
        if channels_last:
            model = model.to(memory_format=torch.channels_last_3d)
            x = x.contiguous(memory_format=torch.channels_last_3d)
        gflops = count_flops(model.eval(), x[:1]) / 1e9
        rates = [train_rate(model, x, bf16, args.seconds) for bf16 in (False, True)]
        cells = []
        for rate, peak in zip(rates, (peak32, peak16)):
            achieved = 3 * gflops * rate  # forward + backward (about twice the forward)
            cells.append(f"{rate:12.1f} {achieved:8.0f} {100 * achieved / peak:5.1f}%")
        layout = "CL" if channels_last else "-"
        safe = "safe" if bf16_gradients_safe(model, x) else "UNSAFE"
        chosen = "bf16" if MODELS[name].recipe.bf16 else "fp32"
        print(f"{name:14} {layout:>7} {gflops:11.3f} {cells[0]} {cells[1]} {safe:>10} {chosen:>7}", flush=True)


if __name__ == "__main__":
    main()
