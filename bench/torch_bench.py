#!/usr/bin/python3
"""PyTorch baseline for `gated bench`: the same workloads, model, loss, clipping, optimiser and timing
method, for one or more thread counts, plus the OpenBLAS sgemm peak through numpy (and torch.mm).

Run with Debian's Python, which has torch and numpy from apt (python3-torch, libopenblas0-pthread):

    /usr/bin/python3 bench/torch_bench.py --threads 1,2 --out /tmp/torch.json

Each thread count runs in its own child process with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
MKL_NUM_THREADS set to it and torch.set_num_threads(N), so neither torch's OpenMP pool nor OpenBLAS's
pthread pool can use more threads than asked (threadpoolctl limits OpenBLAS too when it is installed).
The parent merges the children's results into one JSON document (stdout, or --out).

The workload table below must match src/Gated/Benchmarks/Workloads.cs.
"""

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import time

# name: (I, H, B, T, O, phases) -- keep in step with src/Gated/Benchmarks/Workloads.cs
WORKLOADS = {
    "chung-music": (88, 46, 1, 200, 88, ["training"]),
    "music-batch": (88, 46, 16, 100, 88, ["training"]),
    "medium": (128, 256, 32, 100, 128, ["training", "inference"]),
    "large": (512, 1024, 64, 50, 512, ["training", "inference"]),
    "stream-step": (88, 256, 1, 1, 88, ["stream-step"]),
}
GATES = {"gru": 3, "lstm": 4}
LEARNING_RATE = 1e-3
MAX_GRADIENT_NORM = 1.0


def forward_flops(gates, i, h, b, t):
    """2*G*H*(I+H)*B*T: the matrix products of one forward pass of a recurrent layer."""
    return 2.0 * gates * h * (i + h) * b * t


def phase_flops(cell, workload, phase):
    i, h, b, t, _, _ = WORKLOADS[workload]
    f = forward_flops(GATES[cell], i, h, b, t)
    return 3 * f if phase == "training" else f


# ----------------------------------------------------------------------------- timing
# The same method as Gated's WorkloadRunner (src/Gated/Benchmarks/WorkloadRunner.cs).

def warmup_seconds(min_seconds):
    return min(min_seconds, max(0.5, min_seconds / 5))


def warm_up(fn, min_seconds):
    target = warmup_seconds(min_seconds)
    begin = time.perf_counter()
    count = 0
    while True:
        start = time.perf_counter()
        fn()
        last = time.perf_counter() - start
        count += 1
        total = time.perf_counter() - begin
        if total >= target and (count >= 2 or total >= min_seconds):
            return count, last


def summarise(samples, iterations, warmup, timed):
    samples = sorted(samples)
    n = len(samples)
    median = samples[n // 2] if n % 2 == 1 else (samples[n // 2 - 1] + samples[n // 2]) / 2
    return {
        "seconds_per_iteration": median,
        "min_seconds_per_iteration": samples[0],
        "max_seconds_per_iteration": samples[-1],
        "iterations": iterations,
        "samples": n,
        "warmup_iterations": warmup,
        "timed_seconds": timed,
    }


def measure(fn, min_seconds, min_repetitions=5, blocks=5):
    """Median over blocks of the seconds per iteration, after a warm-up."""
    warmup, last = warm_up(fn, min_seconds)
    per_block = max(1, min(100_000_000, math.ceil(min_seconds / blocks / max(last, 1e-9))))
    samples, iterations, timed = [], 0, 0.0
    while (len(samples) < blocks or iterations < min_repetitions or timed < min_seconds) and len(samples) < 10_000:
        start = time.perf_counter()
        for _ in range(per_block):
            fn()
        seconds = time.perf_counter() - start
        samples.append(seconds / per_block)
        iterations += per_block
        timed += seconds
    return summarise(samples, iterations, warmup, timed)


def measure_each(fn, min_seconds, min_repetitions=5):
    """Median over single iterations, each timed on its own, after a warm-up."""
    warmup, _ = warm_up(fn, min_seconds)
    minimum = max(min_repetitions, 100)
    samples, timed = [], 0.0
    clock = time.perf_counter_ns
    while (len(samples) < minimum or timed < min_seconds) and len(samples) < 20_000_000:
        start = clock()
        fn()
        seconds = (clock() - start) * 1e-9
        samples.append(seconds)
        timed += seconds
    return summarise(samples, len(samples), warmup, timed)


# ----------------------------------------------------------------------------- workloads

def build_case(torch, cell, workload, phase, seed):
    """Returns a function running one iteration of the phase, and a function returning the last loss."""
    import torch.nn.functional as F

    i, h, b, t, o, _ = WORKLOADS[workload]
    torch.manual_seed(seed)
    rnn = (torch.nn.GRU if cell == "gru" else torch.nn.LSTM)(i, h)  # time-major (T, B, I), one layer, both biases
    head = torch.nn.Linear(h, o)
    params = list(rnn.parameters()) + list(head.parameters())
    x = (torch.rand(t, b, i) < 0.1).float()
    y = (torch.rand(t, b, o) < 0.1).float()
    scale = 1.0 / (t * b)
    state = {"loss": float("nan")}

    if phase == "training":
        opt = torch.optim.RMSprop(params, lr=LEARNING_RATE, alpha=0.99, eps=1e-8)

        def step():
            opt.zero_grad(set_to_none=False)
            out, _ = rnn(x)
            logits = head(out)
            # NLL summed over the outputs, averaged over the B*T predicted steps.
            loss = F.binary_cross_entropy_with_logits(logits, y, reduction="sum") * scale
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, MAX_GRADIENT_NORM)
            opt.step()
            state["last"] = loss

        def last_loss():
            return float(state["last"].item()) if "last" in state else float("nan")

        return step, last_loss

    if phase == "inference":
        rnn.eval()

        def infer():
            with torch.no_grad():
                out, _ = rnn(x)
                head(out)

        return infer, lambda: float("nan")

    # stream-step: one step of (1, B, I) with the state carried, recurrent layer only.
    rnn.eval()
    x1 = x[:1].contiguous()
    carried = {"state": None}

    def stream_step():
        with torch.no_grad():
            _, carried["state"] = rnn(x1, carried["state"])

    return stream_step, lambda: float("nan")


def blas_info():
    """OpenBLAS's own view of itself, through ctypes on the library numpy has loaded; best effort."""
    import ctypes
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name)
            get_config = lib.openblas_get_config
            get_config.restype = ctypes.c_char_p
            return {"library": name, "config": get_config().decode(), "threads": int(lib.openblas_get_num_threads())}
        except (OSError, AttributeError):
            continue
    return None


def gemm_peaks(torch, size, min_seconds, threads):
    import numpy as np

    rng = np.random.default_rng(1)
    a = rng.random((size, size), dtype=np.float32) * 2 - 1
    b = rng.random((size, size), dtype=np.float32) * 2 - 1
    c = np.empty((size, size), dtype=np.float32)
    flop = 2.0 * size ** 3
    results = []
    timing = measure(lambda: np.matmul(a, b, out=c), min_seconds, min_repetitions=3, blocks=3)
    results.append({"library": "openblas sgemm (numpy.matmul)", "threads": threads, "size": size,
                    "seconds": timing["seconds_per_iteration"], "gflops": flop / 1e9 / timing["seconds_per_iteration"]})
    ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
    timing = measure(lambda: torch.mm(ta, tb, out=tc), min_seconds, min_repetitions=3, blocks=3)
    results.append({"library": "torch.mm", "threads": threads, "size": size,
                    "seconds": timing["seconds_per_iteration"], "gflops": flop / 1e9 / timing["seconds_per_iteration"]})
    return results


def worker(args):
    """Runs every measurement for one thread count (set in this process's environment by the parent)."""
    import torch

    n = args.threads[0]
    torch.set_num_threads(n)
    limiter = None
    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(limits=n, user_api="blas")
    except ImportError:
        pass  # OPENBLAS_NUM_THREADS, set by the parent, does it

    out = {"threads": n, "torch_threads": torch.get_num_threads(), "blas": blas_info(), "gemm": [], "results": []}
    if args.gemm_size > 0:
        log(f"[{n} thread(s)] sgemm n = {args.gemm_size} (numpy, torch.mm)")
        out["gemm"] = gemm_peaks(torch, args.gemm_size, args.min_seconds, n)
    plan = [(w, c, p) for w in args.workloads for c in args.cells for p in WORKLOADS[w][5]]
    for k, (w, c, p) in enumerate(plan, 1):
        log(f"[{n} thread(s)] [{k}/{len(plan)}] {w} {c} {p}")
        fn, last_loss = build_case(torch, c, w, p, args.seed)
        timing = measure_each(fn, args.min_seconds) if p == "stream-step" else measure(fn, args.min_seconds)
        loss = last_loss()
        if p == "training" and not math.isfinite(loss):
            raise SystemExit(f"torch_bench: {w} {c}: the training loss became {loss}; the measurement is not valid.")
        i, h, b, t, o, _ = WORKLOADS[w]
        seconds = timing["seconds_per_iteration"]
        gflop = phase_flops(c, w, p) / 1e9
        out["results"].append({
            "workload": w, "cell": c, "phase": p, "threads": n,
            "input_size": i, "hidden_size": h, "batch_size": b, "steps": t, "output_size": o,
            **timing,
            "steps_per_second": b * t / seconds,
            "gflop_per_iteration": gflop,
            "gflops": gflop / seconds,
            "latency_us": seconds * 1e6,
            "last_loss": loss if math.isfinite(loss) else None,
        })
    if limiter is not None:
        limiter.restore_original_limits()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


def log(message):
    print(message, file=sys.stderr, flush=True)


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def parent(args):
    import numpy
    import torch

    runs = []
    for n in args.threads:
        env = dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n))
        command = [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(n), "--workload", args.workload,
                   "--cell", args.cell, "--min-seconds", repr(args.min_seconds), "--gemm-size", str(args.gemm_size), "--seed", str(args.seed)]
        child = subprocess.run(command, env=env, stdout=subprocess.PIPE, check=False)
        if child.returncode != 0:
            raise SystemExit(f"torch_bench: the run with {n} thread(s) failed (exit code {child.returncode}).")
        runs.append(json.loads(child.stdout))

    threadpoolctl = True
    try:
        import threadpoolctl as _  # noqa: F401
    except ImportError:
        threadpoolctl = False
    document = {
        "tool": "pytorch",
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "torch_blas_info": (re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show()) or [None, "unknown"])[1],
            "mkldnn": bool(torch.backends.mkldnn.is_available()),
            "os": platform.platform(),
            "processor_count": os.cpu_count(),
            "cpu_model": cpu_model(),
        },
        "thread_control": "a child process per thread count with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = N and torch.set_num_threads(N)"
                          + ("; threadpoolctl limits BLAS too" if threadpoolctl else "; threadpoolctl is not installed"),
        "threads": args.threads,
        "settings": {
            "min_seconds": args.min_seconds, "min_repetitions": 5, "blocks": 5,
            "statistic": "median over timed blocks of seconds per iteration (stream-step: median over single steps)",
            "optimizer": f"RMSprop(lr={LEARNING_RATE}, alpha=0.99, eps=1e-8)",
            "loss": "binary_cross_entropy_with_logits(reduction='sum') / (B*T)",
            "clip_grad_norm": MAX_GRADIENT_NORM,
        },
        "blas": [{"threads": r["threads"], "torch_threads": r["torch_threads"], "openblas": r["blas"]} for r in runs],
        "gemm": {"size": args.gemm_size, "results": [g for r in runs for g in r["gemm"]]} if args.gemm_size > 0 else None,
        "results": [x for r in runs for x in r["results"]],
    }
    text = json.dumps(document, indent=2) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def parse(argv):
    p = argparse.ArgumentParser(description="PyTorch baseline for `gated bench` (same workloads and timing method).")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts, each run in its own process (default 1,2)")
    p.add_argument("--workload", default="all", help="one of %s, or all" % ", ".join(WORKLOADS))
    p.add_argument("--cell", default="all", choices=["gru", "lstm", "all"])
    p.add_argument("--min-seconds", type=float, default=1.0, help="least timed seconds per measurement (default 1)")
    p.add_argument("--gemm-size", type=int, default=2048, help="n of the n x n sgemm peak measurement; 0 skips it (default 2048)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", help="write the JSON here instead of stdout")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    try:
        args.threads = [int(x) for x in str(args.threads).split(",") if x.strip()]
    except ValueError:
        p.error(f"--threads must be a comma-separated list of positive integers, got '{args.threads}'")
    if not args.threads or any(n < 1 for n in args.threads):
        p.error(f"--threads must be a comma-separated list of positive integers, got '{args.threads}'")
    if args.workload != "all" and args.workload not in WORKLOADS:
        p.error(f"--workload must be one of {', '.join(WORKLOADS)} or all, got '{args.workload}'")
    if not (args.min_seconds > 0 and math.isfinite(args.min_seconds)):
        p.error("--min-seconds must be a positive number")
    if args.gemm_size < 0:
        p.error("--gemm-size must be 0 or more")
    args.workloads = list(WORKLOADS) if args.workload == "all" else [args.workload]
    args.cells = list(GATES) if args.cell == "all" else [args.cell]
    return args


def main():
    args = parse(sys.argv[1:])
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch_bench: PyTorch is not installed for this Python; run: apt-get install -y python3-torch libopenblas0-pthread", file=sys.stderr)
        return 1
    if args.worker:
        worker(args)
    else:
        parent(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
