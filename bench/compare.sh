#!/usr/bin/env bash
# Gated versus PyTorch on the benchmark workloads, in one command:
#   builds Gated (Release); runs `gated bench --json --threads N` once per thread count N in THREADS (each sets
#   ComputeThreads.Count = N for its measurements and its GEMM peak) and bench/torch_bench.py for the same thread
#   counts (a child process per count); writes a Markdown report to OUT: Gated and PyTorch at each thread count,
#   best against best and same against same, GFLOP/s against OpenBLAS sgemm at the same thread count, the GEMM
#   peaks, two threads against one, and the targets of issue #4, each met or not.
#
# Usage: bash bench/compare.sh [OUT]          (default OUT: docs/performance-latest.md)
# Environment (optional; the defaults are the real run):
#   MIN_SECONDS=1    least timed seconds per measurement (use 0.05 for a smoke test)
#   THREADS=1,2      thread counts, for Gated and PyTorch alike (1 to 64 each)
#   WORKLOAD=all     one workload name, or all
#   CELL=all         gru, lstm or all
#   GEMM_SIZE=2048   n of the GEMM peak measurements (0 skips them)
#   KEEP_JSON=DIR    also keep the raw gated-N.json and torch.json in DIR
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

IFS=, read -r -a thread_counts <<<"$THREADS"
if [[ ${#thread_counts[@]} -eq 0 ]]; then
    echo "compare.sh: THREADS must be a comma-separated list of thread counts (1 to 64), got '$THREADS'." >&2
    exit 1
fi
for n in "${thread_counts[@]}"; do
    if ! [[ "$n" =~ ^[0-9]+$ ]] || (( n < 1 || n > 64 )); then
        echo "compare.sh: THREADS must be a comma-separated list of thread counts (1 to 64), got '$THREADS'." >&2
        exit 1
    fi
done

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
load_before="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"

echo "== building Gated (Release)" >&2
dotnet build "$repo/src/Gated.Cli/Gated.Cli.csproj" -c Release --nologo -v quiet >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
cli="$repo/src/Gated.Cli/bin/Release/net10.0/Gated.Cli.dll"

gated_files=()
for n in "${thread_counts[@]}"; do
    echo "== gated bench --threads $n (min ${MIN_SECONDS} s per measurement)" >&2
    start=$(date +%s)
    dotnet "$cli" bench --json --threads "$n" --workload "$WORKLOAD" --cell "$CELL" --min-seconds "$MIN_SECONDS" --gemm-size "$GEMM_SIZE" >"$work/gated-$n.json"
    gated_files+=("$work/gated-$n.json")
    echo "   $(( $(date +%s) - start )) s" >&2
done

echo "== torch_bench.py (threads ${THREADS})" >&2
start=$(date +%s)
"$python" "$repo/bench/torch_bench.py" --threads "$THREADS" --workload "$WORKLOAD" --cell "$CELL" \
    --min-seconds "$MIN_SECONDS" --gemm-size "$GEMM_SIZE" --out "$work/torch.json"
echo "   $(( $(date +%s) - start )) s" >&2
load_after="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"

if [[ -n "${KEEP_JSON:-}" ]]; then
    mkdir -p -- "$KEEP_JSON"
    cp -- "${gated_files[@]}" "$work/torch.json" "$KEEP_JSON/"
fi

commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$repo" status --porcelain 2>/dev/null || true)" ]]; then commit="$commit (with uncommitted changes)"; fi

"$python" - "$work/torch.json" "$out" "$commit" "$MIN_SECONDS" "$load_before" "$load_after" "${gated_files[@]}" <<'PY'
import datetime
import json
import sys

torch_path, out_path, commit, min_seconds, load_before, load_after = sys.argv[1:7]
gated_paths = sys.argv[7:]

gated_runs = {}
for path in gated_paths:
    with open(path, encoding="utf-8") as f:
        run = json.load(f)
    n = run.get("threads")
    if not isinstance(n, int) or any(r.get("threads") != n for r in run["results"]):
        raise SystemExit(f"compare.sh: {path} does not say which thread count it ran at; is the Gated build current?")
    gated_runs[n] = run
with open(torch_path, encoding="utf-8") as f:
    torch = json.load(f)

threads = list(gated_runs)  # in THREADS order
if sorted(threads) != sorted(torch["threads"]):
    raise SystemExit(f"compare.sh: Gated ran at {threads} threads, PyTorch at {torch['threads']}.")
first = gated_runs[threads[0]]
env = first["environment"]
tenv = torch["environment"]

key = lambda r: (r["workload"], r["cell"], r["phase"])
gated_by, torch_by, order = {}, {}, []
for n in threads:
    for r in gated_runs[n]["results"]:
        if key(r) not in gated_by:
            order.append(key(r))
        gated_by.setdefault(key(r), {})[n] = r
for r in torch["results"]:
    if key(r) not in gated_by and key(r) not in torch_by:
        order.append(key(r))
    torch_by.setdefault(key(r), {})[r["threads"]] = r
cells = [c for c in ("gru", "lstm") if any(k[1] == c for k in order)] or ["gru", "lstm"]

# GEMM peaks per thread count.
gated_gemm = {n: (gated_runs[n].get("gemm") or {}) for n in threads}
gated_peak = {n: gated_gemm[n].get("peak_gflops") for n in threads}
torch_gemm = (torch.get("gemm") or {}).get("results", [])
openblas = {g["threads"]: g["gflops"] for g in torch_gemm if g["library"].startswith("openblas")}
torch_mm = {g["threads"]: g["gflops"] for g in torch_gemm if g["library"].startswith("torch")}
gemm_size = (first.get("gemm") or {}).get("size") or (torch.get("gemm") or {}).get("size")


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


def get(by, n, name):
    return by[n][name] if n in by else None


def best(by):
    """(thread count, steps/s) of the fastest thread count of one row, or (None, None)."""
    if not by:
        return None, None
    n = max(by, key=lambda t: by[t]["steps_per_second"] or 0)
    return n, by[n]["steps_per_second"]


def best_vs_best(k):
    """Gated at its best thread count ÷ PyTorch at its best: (ratio or None, Gated's threads, PyTorch's threads)."""
    gn, gv = best(gated_by.get(k, {}))
    tn, tv = best(torch_by.get(k, {}))
    return (gv / tv if gv and tv else None), gn, tn


def busy(*loads):
    try:
        return max(float(l.split()[0]) for l in loads) > 0.5
    except (ValueError, IndexError):
        return False


lines = []
w = lines.append


def table(head, rows, left=3):
    w("| " + " | ".join(head) + " |")
    w("|" + "|".join(["---"] * left + ["---:"] * (len(head) - left)) + "|")
    for row in rows:
        w("| " + " | ".join(row) + " |")
    w("")


thr_list = ", ".join(map(str, threads))
blas_threads = ", ".join(
    f"{b['threads']} → torch {b.get('torch_threads', '?')}, OpenBLAS {((b.get('openblas') or {}).get('threads', '?'))}"
    for b in torch.get("blas", []))
w("# Performance: Gated versus PyTorch")
w("")
w(f"Measured {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by `bash bench/compare.sh`, commit {commit}.")
w("")
w(f"- Machine: {env.get('cpu_model') or 'unknown CPU'}, {env['processor_count']} logical processors, {env['os']}.")
w(f"- Load average (1, 5, 15 min): {load_before} before the run, {load_after} after it"
  + (". **The machine was not idle: these timings do not compare with a quiet run.**" if busy(load_before, load_after) else "."))
w(f"- Gated: {env['framework']}, Vector<float> {env['vector_bits']} bits; threads {thr_list}: one `gated bench --threads N` process per count, "
  "which sets `ComputeThreads.Count = N` for every measurement and for its GEMM peak (products too small to split run on the calling thread alone; "
  "results are identical bit for bit at every count).")
w(f"- PyTorch {tenv['torch']} (BLAS {tenv.get('torch_blas_info', '?')}, i.e. the system OpenBLAS; MKL-DNN {'on' if tenv.get('mkldnn') else 'off'}), numpy {tenv['numpy']}, Python {tenv['python']}; "
  f"threads {', '.join(map(str, torch['threads']))}: {torch['thread_control']}"
  + (f" (asked → reported: {blas_threads})." if blas_threads else "."))
w(f"- Timing: at least {min_seconds} s and 5 repetitions per measurement after a warm-up; the median over 5 or more timed blocks (stream-step: the median of single steps).")
w("- Model: one recurrent layer (float32) + a linear sigmoid output layer (88 units for the music workloads, I units for medium and large); "
  "training step = zero grads, forward, Bernoulli NLL (sum over outputs, mean over the B·T steps), backward, clip the global gradient norm at 1, RMSProp (lr 1e-3).")
w("- steps/s = B·T time steps per second. GFLOP/s counts only the recurrent matrix products: 2·G·H·(I+H)·B·T forward, 3× that for a training step (G = 3 GRU, 4 LSTM).")
w("")

# ---------------------------------------------------------------- throughput
w("## Throughput: Gated ÷ PyTorch")
w("")
head = ["workload", "cell", "phase"] + [f"Gated {n} thr steps/s" for n in threads] + [f"PyTorch {n} thr steps/s" for n in threads] \
    + ["Gated best ÷ PyTorch best (threads: Gated / PyTorch)"] + [f"Gated ÷ PyTorch at {n} thr" for n in threads]
rows = []
for k in order:
    g, t = gated_by.get(k, {}), torch_by.get(k, {})
    r, gn, tn = best_vs_best(k)
    row = list(k) + [num(get(g, n, "steps_per_second")) for n in threads] + [num(get(t, n, "steps_per_second")) for n in threads]
    row.append(f"{r:.2f}× ({gn} / {tn})" if r else "n/a")
    row += [ratio(get(g, n, "steps_per_second"), get(t, n, "steps_per_second")) for n in threads]
    rows.append(row)
table(head, rows)
w("Above 1× Gated is faster. \"Best\" is, for each side separately, whichever thread count was fastest for that row; "
  "\"at N thr\" compares the two at the same thread count.")
w("")

# ---------------------------------------------------------------- streaming latency
stream = [k for k in order if k[2] == "stream-step"]
w("## Streaming latency (one step, B = 1)")
w("")
if stream:
    head = ["cell"] + [f"Gated {n} thr µs" for n in threads] + [f"PyTorch {n} thr µs" for n in threads]
    rows = [[k[1]] + [num(get(gated_by.get(k, {}), n, "latency_us")) for n in threads]
            + [num(get(torch_by.get(k, {}), n, "latency_us")) for n in threads] for k in stream]
    table(head, rows, left=1)
else:
    w("Not measured in this run (WORKLOAD does not include stream-step).")
    w("")

# ---------------------------------------------------------------- efficiency
w("## Efficiency: GFLOP/s against the GEMM peaks at the same thread count")
w("")
head = ["workload", "cell", "phase"]
for n in threads:
    head += [f"Gated {n} thr GFLOP/s", f"% of OpenBLAS sgemm {n} thr", f"% of Gated GEMM {n} thr"]
head += [f"PyTorch {n} thr GFLOP/s" for n in threads]
rows = []
for k in order:
    g, t = gated_by.get(k, {}), torch_by.get(k, {})
    row = list(k)
    for n in threads:
        gf = get(g, n, "gflops")
        row += [num(gf, 2), pct(gf, openblas.get(n)), pct(gf, gated_peak[n])]
    row += [num(get(t, n, "gflops"), 2) for n in threads]
    rows.append(row)
table(head, rows)
if gemm_size:
    w(f"Each percentage divides Gated's rate at N threads by the n = {gemm_size} GEMM peak measured at the same N "
      "(OpenBLAS sgemm through numpy; Gated's own Gemm.Multiply, the best of its three shapes). "
      "The recurrent products of the small workloads are far smaller than that n, so a layer can run faster or slower than either peak suggests.")
else:
    w("No GEMM peak was measured in this run (GEMM_SIZE=0), so there are no percentages.")
w("")

# ---------------------------------------------------------------- GEMM peaks
w(f"## GEMM peaks (float32, n × n, n = {gemm_size})" if gemm_size else "## GEMM peaks (float32, n × n)")
w("")
if gemm_size:
    head = ["kernel"] + [f"{n} thr GFLOP/s" for n in threads]
    rows = []
    shapes = [s["shape"] for s in gated_gemm[threads[0]].get("results", [])]
    for shape in shapes:
        rows.append([f"Gated Gemm.Multiply {shape}"]
                    + [num(next((s["gflops"] for s in gated_gemm[n].get("results", []) if s["shape"] == shape), None), 2) for n in threads])
    rows.append(["**Gated peak** (best shape)"] + [num(gated_peak[n], 2) for n in threads])
    rows.append(["**OpenBLAS sgemm** (numpy.matmul)"] + [num(openblas.get(n), 2) for n in threads])
    rows.append(["torch.mm"] + [num(torch_mm.get(n), 2) for n in threads])
    rows.append(["Gated peak ÷ OpenBLAS sgemm"] + [pct(gated_peak[n], openblas.get(n)) for n in threads])
    table(head, rows, left=1)
else:
    w("Not measured in this run (GEMM_SIZE=0).")
    w("")

# ---------------------------------------------------------------- scaling
base = 1 if 1 in threads else None
more = [n for n in threads if n != 1]
w("## Two threads ÷ one thread" if more == [2] else "## More threads ÷ one thread")
w("")
if base is None or not more:
    w(f"Needs thread count 1 and at least one other in THREADS (this run: {thr_list}).")
    w("")
else:
    head = ["workload", "cell", "phase"]
    for n in more:
        head += [f"Gated {n} thr ÷ 1 thr", f"PyTorch {n} thr ÷ 1 thr"]
    rows = []
    for wl in ("medium", "large"):
        for c in cells:
            for ph in ("training", "inference"):
                k = (wl, c, ph)
                g, t = gated_by.get(k, {}), torch_by.get(k, {})
                row = list(k)
                for n in more:
                    row += [ratio(get(g, n, "steps_per_second"), get(g, 1, "steps_per_second")) if g else "not measured",
                            ratio(get(t, n, "steps_per_second"), get(t, 1, "steps_per_second")) if t else "not measured"]
                rows.append(row)
    if gemm_size:
        row = ["GEMM peak", "–", f"n = {gemm_size}"]
        for n in more:
            row += [ratio(gated_peak.get(n), gated_peak.get(1)), ratio(openblas.get(n), openblas.get(1))]
        rows.append(row)
    table(head, rows)

# ---------------------------------------------------------------- targets
w("## Targets of issue #4")
w("")
targets = []  # (target, row, measured, status)


def verdict(value, ok):
    return "not measured" if value is None else ("**met**" if ok else "not met")


def speed_target(wl, phases, factor):
    for c in cells:
        for ph in phases:
            k = (wl, c, ph)
            r, gn, tn = best_vs_best(k)
            measured = f"{r:.2f}× (Gated {gn} thr, PyTorch {tn} thr)" if r else "n/a"
            targets.append((f"{wl} ≥ {factor}× PyTorch", f"{c} {ph}", measured, verdict(r, r is not None and r >= factor)))


speed_target("chung-music", ["training"], 20)
speed_target("music-batch", ["training"], 3)
speed_target("medium", ["training", "inference"], 1.5)
speed_target("large", ["training", "inference"], 1.3)
for c in cells:
    for ph in ("training", "inference"):
        g = gated_by.get(("large", c, ph), {})
        parts, oks = [], []
        for n in threads:
            gf, peak = get(g, n, "gflops"), openblas.get(n)
            if gf and peak:
                parts.append(f"{100 * gf / peak:.0f} % at {n} thr")
                oks.append(gf >= 0.8 * peak)
        targets.append(("large ≥ 80 % of OpenBLAS sgemm at the same thread count (every count)", f"{c} {ph}",
                        "; ".join(parts) or "n/a", verdict(oks or None, bool(oks) and all(oks))))
for wl in ("medium", "large"):
    for c in cells:
        for ph in ("training", "inference"):
            g = gated_by.get((wl, c, ph), {})
            one, two = get(g, 1, "steps_per_second"), get(g, 2, "steps_per_second")
            r = two / one if one and two else None
            targets.append((f"{wl}: Gated 2 thr ≥ 1.7× Gated 1 thr", f"{c} {ph}", f"{r:.2f}×" if r else "n/a", verdict(r, r is not None and r >= 1.7)))
for c in cells:
    g = gated_by.get(("stream-step", c, "stream-step"), {})
    if g:
        n = min(g, key=lambda t: g[t]["latency_us"])
        v = g[n]["latency_us"]
        targets.append(("stream-step ≤ 20 µs", c, f"{v:.1f} µs ({n} thr)", verdict(v, v <= 20)))
    else:
        targets.append(("stream-step ≤ 20 µs", c, "n/a", "not measured"))
targets.append(("results identical bit for bit at every thread count", "all", "not timed here: the unit tests compare 1 and 2 threads", "see tests"))
table(["target", "row", "measured", "status"], [list(t) for t in targets], left=2)
met = sum(t[3] == "**met**" for t in targets)
measured = sum(t[3] in ("**met**", "not met") for t in targets)
w(f"{met} of {measured} measured targets met ({len(targets) - measured - 1} not measured in this run). "
  "Speed ratios are Gated at its best thread count ÷ PyTorch at its best, as the issue asks; "
  "the sgemm fraction must hold at every thread count measured.")
w("")

text = "\n".join(lines)
with open(out_path, "w", encoding="utf-8") as f:
    f.write(text)
print(text)
PY
echo "== wrote $out" >&2
