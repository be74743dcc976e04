#!/usr/bin/env bash
# Gated versus PyTorch on the benchmark workloads, in one command:
#   builds Gated (Release), runs `gated bench --json` and bench/torch_bench.py for 1 and 2 threads,
#   and writes a Markdown report (ratios Gated ÷ PyTorch, GFLOP/s, GEMM peaks) to OUT.
#
# Usage: bash bench/compare.sh [OUT]          (default OUT: docs/performance-latest.md)
# Environment (optional; the defaults are the real run):
#   MIN_SECONDS=1    least timed seconds per measurement (use 0.05 for a smoke test)
#   THREADS=1,2      PyTorch thread counts
#   WORKLOAD=all     one workload name, or all
#   CELL=all         gru, lstm or all
#   GEMM_SIZE=2048   n of the GEMM peak measurements (0 skips them)
#   KEEP_JSON=DIR    also keep the raw gated.json and torch.json in DIR
# Installs nothing: it stops if PyTorch is missing and says what to install.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$repo/docs/performance-latest.md}"
out="$(realpath -m -- "$out")"
MIN_SECONDS="${MIN_SECONDS:-1}"
THREADS="${THREADS:-1,2}"
WORKLOAD="${WORKLOAD:-all}"
CELL="${CELL:-all}"
GEMM_SIZE="${GEMM_SIZE:-2048}"
python=/usr/bin/python3

if ! "$python" -c "import torch, numpy" >/dev/null 2>&1; then
    echo "compare.sh: PyTorch (with numpy) is not importable by $python. Install it with:" >&2
    echo "apt-get install -y python3-torch libopenblas0-pthread"
    exit 1
fi
if [[ ! -d "$(dirname -- "$out")" ]]; then
    echo "compare.sh: the directory of $out does not exist." >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf -- "$work"' EXIT

echo "== building Gated (Release)" >&2
dotnet build "$repo/src/Gated.Cli/Gated.Cli.csproj" -c Release --nologo -v quiet >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
cli="$repo/src/Gated.Cli/bin/Release/net10.0/Gated.Cli.dll"

echo "== gated bench (1 thread; min ${MIN_SECONDS} s per measurement)" >&2
start=$(date +%s)
dotnet "$cli" bench --json --workload "$WORKLOAD" --cell "$CELL" --min-seconds "$MIN_SECONDS" --gemm-size "$GEMM_SIZE" >"$work/gated.json"
echo "   $(( $(date +%s) - start )) s" >&2

echo "== torch_bench.py (threads ${THREADS})" >&2
start=$(date +%s)
"$python" "$repo/bench/torch_bench.py" --threads "$THREADS" --workload "$WORKLOAD" --cell "$CELL" \
    --min-seconds "$MIN_SECONDS" --gemm-size "$GEMM_SIZE" --out "$work/torch.json"
echo "   $(( $(date +%s) - start )) s" >&2

if [[ -n "${KEEP_JSON:-}" ]]; then
    mkdir -p -- "$KEEP_JSON"
    cp -- "$work/gated.json" "$work/torch.json" "$KEEP_JSON/"
fi

commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$repo" status --porcelain 2>/dev/null || true)" ]]; then commit="$commit (with uncommitted changes)"; fi

"$python" - "$work/gated.json" "$work/torch.json" "$out" "$commit" "$MIN_SECONDS" <<'PY'
import datetime
import json
import sys

gated_path, torch_path, out_path, commit, min_seconds = sys.argv[1:6]
with open(gated_path, encoding="utf-8") as f:
    gated = json.load(f)
with open(torch_path, encoding="utf-8") as f:
    torch = json.load(f)

threads = torch["threads"]
key = lambda r: (r["workload"], r["cell"], r["phase"])
torch_by = {}
for r in torch["results"]:
    torch_by.setdefault(key(r), {})[r["threads"]] = r

def num(x, digits=1):
    if x is None:
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"

def ratio(a, b):
    return "n/a" if not a or not b else f"{a / b:.2f}×"

def pct(a, b):
    return "n/a" if not a or not b else f"{100 * a / b:.0f} %"

# GEMM peaks.
gated_gemm = (gated.get("gemm") or {}).get("results", [])
gated_peak = (gated.get("gemm") or {}).get("peak_gflops")
torch_gemm = (torch.get("gemm") or {}).get("results", [])
openblas = {g["threads"]: g["gflops"] for g in torch_gemm if g["library"].startswith("openblas")}
machine_peak_1 = openblas.get(1)

lines = []
w = lines.append
env = gated["environment"]
tenv = torch["environment"]
w("# Performance: Gated versus PyTorch")
w("")
w(f"Measured {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by `bash bench/compare.sh`, commit {commit}.")
w("")
w(f"- Machine: {env.get('cpu_model') or 'unknown CPU'}, {env['processor_count']} logical processors, {env['os']}.")
w(f"- Gated: {env['framework']}, Vector<float> {env['vector_bits']} bits, **1 thread** (Gated is single-threaded).")
w(f"- PyTorch {tenv['torch']} (BLAS {tenv.get('torch_blas_info', '?')}, i.e. the system OpenBLAS; MKL-DNN {'on' if tenv.get('mkldnn') else 'off'}), numpy {tenv['numpy']}, Python {tenv['python']}; threads {', '.join(map(str, threads))}: {torch['thread_control']}.")
w(f"- Timing: at least {min_seconds} s and 5 repetitions per measurement after a warm-up; the median over 5 or more timed blocks (stream-step: the median of single steps).")
w("- Model: one recurrent layer (float32) + a linear sigmoid output layer (88 units for the music workloads, I units for medium and large); "
  "training step = zero grads, forward, Bernoulli NLL (sum over outputs, mean over the B·T steps), backward, clip the global gradient norm at 1, RMSProp (lr 1e-3).")
w("- steps/s = B·T time steps per second. GFLOP/s counts only the recurrent matrix products: 2·G·H·(I+H)·B·T forward, 3× that for a training step (G = 3 GRU, 4 LSTM).")
w("")

w("## Throughput: Gated ÷ PyTorch")
w("")
head = ["workload", "cell", "phase", "Gated steps/s"] + [f"PyTorch {n} thr steps/s" for n in threads] + ["Gated ÷ PyTorch best (threads)", "Gated ÷ PyTorch 1 thr"]
w("| " + " | ".join(head) + " |")
w("|" + "|".join(["---"] * 3 + ["---:"] * (len(head) - 3)) + "|")
for g in gated["results"]:
    t = torch_by.get(key(g), {})
    best_n = max(t, key=lambda n: t[n]["steps_per_second"]) if t else None
    row = [g["workload"], g["cell"], g["phase"], num(g["steps_per_second"])]
    row += [num(t[n]["steps_per_second"]) if n in t else "n/a" for n in threads]
    row.append(f"{ratio(g['steps_per_second'], t[best_n]['steps_per_second'])} ({best_n})" if best_n else "n/a")
    row.append(ratio(g["steps_per_second"], t[1]["steps_per_second"]) if 1 in t else "n/a")
    w("| " + " | ".join(row) + " |")
w("")
w("Above 1× Gated is faster. \"PyTorch best\" is PyTorch at whichever thread count was fastest for that row; Gated always runs on one thread.")
w("")

stream = [g for g in gated["results"] if g["phase"] == "stream-step"]
if stream:
    w("## Streaming latency (one step, B = 1)")
    w("")
    head = ["cell", "Gated µs"] + [f"PyTorch {n} thr µs" for n in threads]
    w("| " + " | ".join(head) + " |")
    w("|---|" + "|".join(["---:"] * (len(head) - 1)) + "|")
    for g in stream:
        t = torch_by.get(key(g), {})
        w("| " + " | ".join([g["cell"], num(g["latency_us"])] + [num(t[n]["latency_us"]) if n in t else "n/a" for n in threads]) + " |")
    w("")

w("## Efficiency: GFLOP/s and fraction of the GEMM peaks")
w("")
head = ["workload", "cell", "phase", "Gated GFLOP/s", "% of Gated GEMM peak", "% of OpenBLAS 1 thr peak"] + [f"PyTorch {n} thr GFLOP/s" for n in threads]
w("| " + " | ".join(head) + " |")
w("|" + "|".join(["---"] * 3 + ["---:"] * (len(head) - 3)) + "|")
for g in gated["results"]:
    t = torch_by.get(key(g), {})
    row = [g["workload"], g["cell"], g["phase"], num(g["gflops"], 2), pct(g["gflops"], gated_peak), pct(g["gflops"], machine_peak_1)]
    row += [num(t[n]["gflops"], 2) if n in t else "n/a" for n in threads]
    w("| " + " | ".join(row) + " |")
w("")

w("## GEMM peaks (float32, n × n)")
w("")
w("| kernel | threads | n | GFLOP/s |")
w("|---|---:|---:|---:|")
for g in gated_gemm:
    w(f"| Gated Gemm.Multiply {g['shape']} | 1 | {gated['gemm']['size']} | {num(g['gflops'], 2)} |")
for g in torch_gemm:
    w(f"| {g['library']} | {g['threads']} | {g['size']} | {num(g['gflops'], 2)} |")
w("")
w("Gated's GEMM peak is the best of its three shapes; the machine's peak is OpenBLAS sgemm at the same thread count. "
  "The recurrent products of the small workloads are far smaller than n = "
  f"{(gated.get('gemm') or {}).get('size', 'n/a')}, so a layer can run faster or slower than either peak suggests.")
w("")

text = "\n".join(lines)
with open(out_path, "w", encoding="utf-8") as f:
    f.write(text)
print(text)
PY
echo "== wrote $out" >&2
