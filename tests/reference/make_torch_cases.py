#!/usr/bin/env python3
"""Generate PyTorch golden cases for Gated's GRU / LSTM / RNN layers.

Each case is one small safetensors file in tests/Gated.Tests/Cases/torch/ holding
the inputs, initial states and parameters of a layer, its outputs and final
states, a random upstream gradient defining the scalar loss

    Lo = sum(output * grad_output) + sum(h_n * grad_h_n) [+ sum(c_n * grad_c_n)]

and the gradients of Lo with respect to the input, the initial states and every
parameter ("grad.<name>"). The C# tests load a file into Gated's real layer and
compare everything. See tests/reference/README.md for the file format.

Forms that torch.nn implements (GRU keep_previous/after_product/sigmoid/tanh with
two biases or none, LSTM, RNN) are computed by torch.nn.GRU/LSTM/RNN
(reference "torch.nn"). The other GRU forms are computed by hand_gru_direction()
below and differentiated by autograd (reference "autograd"); before any file is
written, self_check() verifies the hand-written GRU against nn.GRU in float64.

Run with Debian's interpreter (it has torch and numpy):

    /usr/bin/python3 tests/reference/make_torch_cases.py
"""

import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

T, B, I, H = 5, 3, 4, 3  # steps, batch, input size, hidden size
ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "tests" / "Gated.Tests" / "Cases" / "torch"
COMMAND = "/usr/bin/python3 tests/reference/make_torch_cases.py"

ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": lambda a: torch.clamp(0.2 * a + 0.5, 0.0, 1.0),  # ONNX, not torch's x/6+1/2
    "tanh": torch.tanh,
    "relu": torch.relu,
}
DTYPES = {"float64": torch.float64, "float32": torch.float32}
GRU_DEFAULTS = dict(update_gate="keep_previous", reset="after_product",
                    gate_activation="sigmoid", candidate_activation="tanh", ablation="none")


# ----------------------------------------------------------------------------
# The hand-written GRU
# ----------------------------------------------------------------------------

def hand_gru_direction(x, h, lengths, p, k, sfx, opt, reverse):
    """One GRU layer (index k), one direction, straight from the equations.

    x: (T, B, I_k) time-major input; h: (B, H) initial state; lengths: (B,) int64;
    p: parameters by state_dict name; sfx: "" or "_reverse"; opt: GRU options.
    Returns (output (T, B, H), final state (B, H)).

    With rows r|z|n of W_i = weight_ih, W_h = weight_hh, b_i = bias_ih, b_h = bias_hh,
    f = gate_activation, g = candidate_activation, at every step t < len_b:
        a   = W_i x_t + b_i                       (b_i only when bias is "one" or "two")
        r   = f(a_r + W_hr h + b_hr)              (b_h* only when bias is "two")
        z   = f(a_z + W_hz h + b_hz)
        after_product:   n = g(a_n + r * (W_hn h + b_hn))
        before_product:  n = g(a_n + W_hn (r * h) + b_hn)
        keep_previous:   h' = z * h + (1 - z) * n
        take_candidate:  h' = (1 - z) * h + z * n
        ablation no_reset_gate:  r = 1
        ablation no_update_gate: h' = n
    Steps t >= len_b leave h unchanged and output 0. The reverse direction runs
    each sequence backwards within its own length (positions len_b-1 .. 0).
    """
    f = ACTIVATIONS[opt["gate_activation"]]
    g = ACTIVATIONS[opt["candidate_activation"]]
    w_i, w_h = p[f"weight_ih_l{k}{sfx}"], p[f"weight_hh_l{k}{sfx}"]
    b_i, b_h = p.get(f"bias_ih_l{k}{sfx}"), p.get(f"bias_hh_l{k}{sfx}")
    w_hr, w_hz, w_hn = w_h.chunk(3, 0)
    b_hr, b_hz, b_hn = b_h.chunk(3, 0) if b_h is not None else (None, None, None)

    def affine(v, w, b):
        return v @ w.t() + b if b is not None else v @ w.t()

    steps = x.shape[0]
    t_idx = torch.arange(steps).unsqueeze(1)           # (T, 1)
    b_idx = torch.arange(x.shape[1]).unsqueeze(0)      # (1, B)
    valid = t_idx < lengths.unsqueeze(0)               # (T, B)
    if reverse:  # within-length reversal; the permutation is its own inverse
        order = torch.where(valid, lengths.unsqueeze(0) - 1 - t_idx, t_idx)
        x = x[order, b_idx]

    outs = []
    for t in range(steps):
        a_r, a_z, a_n = affine(x[t], w_i, b_i).chunk(3, 1)
        if opt["ablation"] == "no_reset_gate":
            r = torch.ones_like(h)
        else:
            r = f(a_r + affine(h, w_hr, b_hr))
        z = f(a_z + affine(h, w_hz, b_hz))
        if opt["reset"] == "after_product":
            n = g(a_n + r * affine(h, w_hn, b_hn))
        else:
            n = g(a_n + affine(r * h, w_hn, b_hn))
        if opt["ablation"] == "no_update_gate":
            h_new = n
        elif opt["update_gate"] == "keep_previous":
            h_new = z * h + (1 - z) * n
        else:
            h_new = (1 - z) * h + z * n
        m = valid[t].unsqueeze(1)
        h = torch.where(m, h_new, h)
        outs.append(torch.where(m, h_new, torch.zeros_like(h_new)))
    out = torch.stack(outs)
    if reverse:
        out = out[order, b_idx]
    return out, h


def hand_gru(x, h0, lengths, p, opt, layers, bidir):
    """Stack hand_gru_direction over layers and directions. x (T, B, I) time-major."""
    dirs = [("", False), ("_reverse", True)] if bidir else [("", False)]
    h_n = []
    for k in range(layers):
        outs = []
        for d, (sfx, rev) in enumerate(dirs):
            o, h = hand_gru_direction(x, h0[k * len(dirs) + d], lengths, p, k, sfx, opt, rev)
            outs.append(o)
            h_n.append(h)
        x = torch.cat(outs, dim=2)
    return x, torch.stack(h_n)


# ----------------------------------------------------------------------------
# Running one case
# ----------------------------------------------------------------------------

def uses_torch_nn(spec):
    if spec["cell"] != "gru":
        return True
    return (spec["bias"] in ("two", "none")
            and all(spec[key] == val for key, val in GRU_DEFAULTS.items()))


def make_module(spec, dtype):
    """A torch.nn module with default init, parameters scaled by spec['scale']."""
    cls = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn_tanh": nn.RNN, "rnn_relu": nn.RNN}[spec["cell"]]
    kw = dict(num_layers=spec["layers"], bidirectional=spec["bidir"],
              batch_first=spec["batch_first"], bias=spec["bias"] != "none")
    if spec["cell"].startswith("rnn_"):
        kw["nonlinearity"] = spec["cell"][4:]
    if spec["cell"] == "gru" and spec["bias"] == "one":
        kw["bias"] = True  # bias_hh_* is dropped afterwards
    module = cls(I, H, **kw).to(dtype)
    with torch.no_grad():
        for prm in module.parameters():
            prm.mul_(spec["scale"])
    return module


def run_case(spec):
    """Compute everything for one case; returns (tensors, metadata)."""
    torch.manual_seed(zlib.crc32(spec["name"].encode()))
    dtype = DTYPES[spec["dtype"]]
    layers, D = spec["layers"], 2 if spec["bidir"] else 1
    is_lstm = spec["cell"] == "lstm"
    reference = "torch.nn" if uses_torch_nn(spec) else "autograd"

    module = make_module(spec, dtype)
    if reference == "torch.nn":
        params = dict(module.named_parameters())
    else:
        params = {n: q.detach().clone().requires_grad_(True)
                  for n, q in module.named_parameters()
                  if not (n.startswith("bias_hh") and spec["bias"] == "one")}

    x_shape = (B, T, I) if spec["batch_first"] else (T, B, I)
    x = torch.randn(*x_shape, dtype=dtype, requires_grad=True)
    h0 = torch.randn(layers * D, B, H, dtype=dtype, requires_grad=True)
    c0 = torch.randn(layers * D, B, H, dtype=dtype, requires_grad=True) if is_lstm else None
    lengths = torch.tensor(spec["lengths"], dtype=torch.int64) if spec["lengths"] else None

    # forward
    if reference == "torch.nn":
        hx = (h0, c0) if is_lstm else h0
        if lengths is None:
            out, hn = module(x, hx)
        else:
            packed = pack_padded_sequence(x, lengths, batch_first=spec["batch_first"],
                                          enforce_sorted=False)
            out, hn = module(packed, hx)
            out, _ = pad_packed_sequence(out, batch_first=spec["batch_first"], total_length=T)
        h_n, c_n = hn if is_lstm else (hn, None)
    else:
        lens = lengths if lengths is not None else torch.full((B,), T, dtype=torch.int64)
        xt = x.transpose(0, 1) if spec["batch_first"] else x
        out, h_n = hand_gru(xt, h0, lens, params, spec, layers, spec["bidir"])
        if spec["batch_first"]:
            out = out.transpose(0, 1)
        c_n = None

    # loss and gradients
    g_out = torch.randn(out.shape, dtype=dtype)
    g_hn = torch.randn(h_n.shape, dtype=dtype)
    loss = (out * g_out).sum() + (h_n * g_hn).sum()
    wrt = {"input": x, "h0": h0}
    if is_lstm:
        g_cn = torch.randn(c_n.shape, dtype=dtype)
        loss = loss + (c_n * g_cn).sum()
        wrt["c0"] = c0
    wrt.update(params)
    grads = torch.autograd.grad(loss, list(wrt.values()), allow_unused=True)

    tensors = {"input": x, "h0": h0, "output": out, "h_n": h_n,
               "grad_output": g_out, "grad_h_n": g_hn}
    if lengths is not None:
        tensors["lengths"] = lengths
    if is_lstm:
        tensors.update({"c0": c0, "c_n": c_n, "grad_c_n": g_cn})
    tensors.update(params)
    for (n, v), gr in zip(wrt.items(), grads):
        tensors["grad." + n] = gr if gr is not None else torch.zeros_like(v)
    tensors = {n: v.detach() for n, v in tensors.items()}

    meta = {
        "format": "gated-torch-case", "format_version": "1",
        "case": spec["name"], "description": spec["description"],
        "cell": spec["cell"], "dtype": spec["dtype"],
        "input_size": str(I), "hidden_size": str(H), "num_layers": str(layers),
        "bidirectional": str(spec["bidir"]).lower(),
        "batch_first": str(spec["batch_first"]).lower(),
        "bias": spec["bias"],
        "reference": reference, "torch_version": torch.__version__, "command": COMMAND,
    }
    if spec["cell"] == "gru":
        meta.update({key: spec[key] for key in GRU_DEFAULTS})
    return tensors, meta


# ----------------------------------------------------------------------------
# safetensors writer (hand-rolled; the safetensors package is not available)
# ----------------------------------------------------------------------------

ST_DTYPES = {torch.float64: ("F64", "<f8"), torch.float32: ("F32", "<f4"),
             torch.int64: ("I64", "<i8")}


def write_safetensors(path, tensors, metadata):
    """u64 LE header length N, N bytes of JSON header (space padded so that 8+N is a
    multiple of 8), then the tensors, sorted by name, little-endian, C-contiguous."""
    header = {"__metadata__": dict(sorted(metadata.items()))}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name]
        tag, np_dtype = ST_DTYPES[t.dtype]
        data = np.ascontiguousarray(t.cpu().numpy(), dtype=np_dtype).tobytes()
        header[name] = {"dtype": tag, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    js = json.dumps(header, separators=(",", ":")).encode("utf-8")
    js += b" " * (-(8 + len(js)) % 8)
    path.write_bytes(struct.pack("<Q", len(js)) + js + b"".join(blobs))


def read_safetensors(path):
    """Minimal reader, used only to check that each written file round-trips."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__")
    back = {tag: np_dtype for tag, np_dtype in ST_DTYPES.values()}
    out = {}
    for name, e in header.items():
        b0, b1 = e["data_offsets"]
        arr = np.frombuffer(raw[8 + n + b0:8 + n + b1], dtype=back[e["dtype"]])
        out[name] = arr.reshape(e["shape"])
    assert (8 + n) % 8 == 0 and 8 + n + max(e["data_offsets"][1] for e in header.values()) == len(raw)
    return out, meta


# ----------------------------------------------------------------------------
# Self-check of the hand-written GRU against nn.GRU
# ----------------------------------------------------------------------------

def self_check():
    """The hand-written GRU must reproduce nn.GRU (outputs, h_n, every gradient) to
    1e-12 in float64 in the torch-equivalent configuration, plus two mapped variants:
    take_candidate == keep_previous with the z rows negated (1 - sigmoid(a) = sigmoid(-a)),
    and bias "one" == nn.GRU with bias_hh = 0."""
    def compare(tag, bidir, batch_first, lengths, bias, variant):
        torch.manual_seed(zlib.crc32(tag.encode()))
        layers = 2
        ref = nn.GRU(I, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first,
                     bias=bias).double()
        with torch.no_grad():
            for prm in ref.parameters():
                prm.mul_(2.5)
        hand_p = {n: q.detach().clone().requires_grad_(True) for n, q in ref.named_parameters()}
        opt = dict(GRU_DEFAULTS)
        if variant == "take_candidate":
            opt["update_gate"] = "take_candidate"
            with torch.no_grad():  # negate z rows (and biases) in the hand copy
                for n, q in hand_p.items():
                    q[H:2 * H].neg_()
        if variant == "one_bias":
            with torch.no_grad():
                for n, q in ref.named_parameters():
                    if n.startswith("bias_hh"):
                        q.zero_()
            hand_p = {n: q for n, q in hand_p.items() if not n.startswith("bias_hh")}
        D = 2 if bidir else 1
        x = torch.randn((B, T, I) if batch_first else (T, B, I), dtype=torch.float64,
                        requires_grad=True)
        h0 = torch.randn(layers * D, B, H, dtype=torch.float64, requires_grad=True)
        lens = torch.tensor(lengths)
        packed = pack_padded_sequence(x, lens, batch_first=batch_first, enforce_sorted=False)
        o_ref, hn_ref = ref(packed, h0)
        o_ref, _ = pad_packed_sequence(o_ref, batch_first=batch_first, total_length=T)
        xt = x.transpose(0, 1) if batch_first else x
        o_hand, hn_hand = hand_gru(xt, h0, lens, hand_p, opt, layers, bidir)
        if batch_first:
            o_hand = o_hand.transpose(0, 1)
        g_o, g_h = torch.randn(o_ref.shape, dtype=torch.float64), torch.randn(hn_ref.shape, dtype=torch.float64)
        ref_named = dict(ref.named_parameters())
        names = list(hand_p)
        gr_ref = torch.autograd.grad((o_ref * g_o).sum() + (hn_ref * g_h).sum(),
                                     [x, h0] + [ref_named[n] for n in names])
        gr_hand = torch.autograd.grad((o_hand * g_o).sum() + (hn_hand * g_h).sum(),
                                      [x, h0] + [hand_p[n] for n in names])
        if variant == "take_candidate":  # d/d(-w) = -d/dw on the negated rows
            gr_hand = list(gr_hand)
            for j, n in enumerate(names):
                gr_hand[2 + j] = gr_hand[2 + j].clone()
                gr_hand[2 + j][H:2 * H].neg_()
        pairs = [("output", o_ref, o_hand), ("h_n", hn_ref, hn_hand)]
        pairs += [("grad." + n, a, b) for n, a, b in zip(["input", "h0"] + names, gr_ref, gr_hand)]
        worst = 0.0
        for n, a, b in pairs:
            err = (a - b).abs().max().item()
            worst = max(worst, err)
            if not err <= 1e-12:
                sys.exit(f"SELF-CHECK FAILED [{tag}] {n}: max abs diff {err:.3e}")
        assert (o_ref.abs() > 0).any() and (o_ref == 0).any()  # padding really present
        print(f"self-check {tag}: ok (max abs diff {worst:.1e})")

    compare("torch_equivalent_stacked_bidir_varlen", True, False, [5, 2, 4], True, None)
    compare("torch_equivalent_batch_first_bidir_varlen", True, True, [3, 5, 1], True, None)
    compare("torch_equivalent_no_bias_varlen", False, False, [2, 5, 3], False, None)
    compare("take_candidate_vs_negated_z", True, False, [5, 2, 4], True, "take_candidate")
    compare("one_bias_vs_zero_bias_hh", True, False, [4, 1, 5], True, "one_bias")


# ----------------------------------------------------------------------------
# The cases
# ----------------------------------------------------------------------------

def case(name, cell, description, dtype="float64", layers=1, bidir=False, batch_first=False,
         lengths=None, bias="two", scale=2.5, **gru):
    spec = dict(name=name + ("_f64" if dtype == "float64" else "_f32"), cell=cell,
                description=description, dtype=dtype, layers=layers, bidir=bidir,
                batch_first=batch_first, lengths=lengths, bias=bias, scale=scale)
    spec.update(GRU_DEFAULTS)
    spec.update(gru)
    return spec


VL = [5, 2, 4]        # unsorted lengths, one of full length T
VL_BF = [3, 5, 1]     # batch_first cases

CASES = [
    # GRU through nn.GRU
    case("gru_basic", "gru", "Single-layer unidirectional PyTorch GRU, full-length sequences."),
    case("gru_stacked_bidir_varlen", "gru", "Two-layer bidirectional PyTorch GRU on unsorted variable-length sequences.",
         layers=2, bidir=True, lengths=VL),
    case("gru_batch_first_varlen", "gru", "Single-layer bidirectional batch-first PyTorch GRU on variable-length sequences.",
         bidir=True, batch_first=True, lengths=VL_BF),
    case("gru_no_bias", "gru", "Single-layer PyTorch GRU without bias tensors.", bias="none"),
    # GRU variants, hand-written equations
    case("gru_reset_before", "gru", "GRU with the reset gate applied to h before the W_hn product.",
         reset="before_product"),
    case("gru_take_candidate", "gru", "GRU whose update gate weights the candidate: h = (1-z)*h_prev + z*cand.",
         update_gate="take_candidate"),
    case("gru_reset_before_take_candidate_stacked_bidir_varlen", "gru",
         "Two-layer bidirectional variable-length GRU with reset before product and take_candidate update.",
         layers=2, bidir=True, lengths=VL, reset="before_product", update_gate="take_candidate"),
    case("gru_one_bias", "gru", "GRU with a single bias vector (bias_ih only).", bias="one"),
    case("gru_one_bias_reset_before", "gru", "GRU with a single bias vector and reset before product.",
         bias="one", reset="before_product"),
    case("gru_hard_sigmoid_relu", "gru", "GRU with ONNX hard_sigmoid gates and relu candidate activation.",
         gate_activation="hard_sigmoid", candidate_activation="relu", scale=2.0),
    case("gru_tanh_gates", "gru", "GRU with tanh as the gate activation.", gate_activation="tanh"),
    case("gru_no_reset_gate", "gru", "GRU with the reset gate ablated (r = 1).", ablation="no_reset_gate"),
    case("gru_no_update_gate", "gru", "GRU with the update gate ablated (h = candidate).", ablation="no_update_gate"),
    case("gru_no_update_gate_take_candidate", "gru",
         "GRU with the update gate ablated under the take_candidate convention (h = candidate).",
         ablation="no_update_gate", update_gate="take_candidate"),
    # LSTM and RNN through torch.nn
    case("lstm_basic", "lstm", "Single-layer unidirectional PyTorch LSTM, full-length sequences."),
    case("lstm_stacked_bidir_varlen", "lstm", "Two-layer bidirectional PyTorch LSTM on unsorted variable-length sequences.",
         layers=2, bidir=True, lengths=VL),
    case("lstm_batch_first_varlen", "lstm", "Single-layer bidirectional batch-first PyTorch LSTM on variable-length sequences.",
         bidir=True, batch_first=True, lengths=VL_BF),
    case("lstm_no_bias", "lstm", "Single-layer PyTorch LSTM without bias tensors.", bias="none"),
    case("rnn_tanh_stacked_bidir_varlen", "rnn_tanh", "Two-layer bidirectional tanh RNN on unsorted variable-length sequences.",
         layers=2, bidir=True, lengths=VL, scale=1.5),
    case("rnn_relu_varlen", "rnn_relu", "Single-layer unidirectional relu RNN on unsorted variable-length sequences.",
         lengths=VL, scale=1.5),
    # float32
    case("gru_stacked_bidir_varlen", "gru", "Two-layer bidirectional PyTorch GRU on variable-length sequences, float32.",
         dtype="float32", layers=2, bidir=True, lengths=VL),
    case("gru_reset_before_take_candidate_stacked_bidir_varlen", "gru",
         "Two-layer bidirectional variable-length GRU with reset before product and take_candidate update, float32.",
         dtype="float32", layers=2, bidir=True, lengths=VL, reset="before_product", update_gate="take_candidate"),
    case("lstm_stacked_bidir_varlen", "lstm", "Two-layer bidirectional PyTorch LSTM on variable-length sequences, float32.",
         dtype="float32", layers=2, bidir=True, lengths=VL),
    case("rnn_tanh_stacked_bidir_varlen", "rnn_tanh", "Two-layer bidirectional tanh RNN on variable-length sequences, float32.",
         dtype="float32", layers=2, bidir=True, lengths=VL, scale=1.5),
]


def main():
    torch.set_num_threads(1)
    self_check()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    total = 0
    for spec in CASES:
        tensors, meta = run_case(spec)
        path = OUT_DIR / (spec["name"] + ".safetensors")
        write_safetensors(path, tensors, meta)
        back, back_meta = read_safetensors(path)
        assert back_meta == meta and set(back) == set(tensors)
        for n, v in tensors.items():
            assert np.array_equal(back[n], v.numpy()), (path.name, n)
        size = path.stat().st_size
        total += size
        print(f"{path.relative_to(ROOT)}  {size} bytes  [{meta['reference']}]  "
              f"max|output| {tensors['output'].abs().max().item():.3f}")
    print(f"{len(CASES)} cases, {total} bytes in total")


if __name__ == "__main__":
    main()
