#!/usr/bin/env python3
"""Generate the golden files for `gated run` on PyTorch state_dict safetensors.

Each case is three small safetensors files in tests/Gated.Tests/Cases/interop/:

    <case>.model.safetensors  the state_dict() of a torch module, as a user would save it:
                              an nn.GRU / nn.LSTM / nn.RNN, or a module holding one under a
                              prefix (e.g. "lstm.weight_ih_l0") beside other layers ("head.weight")
    <case>.in.safetensors     input (T,B,I) or (B,T,I), optional h0 / c0, optional lengths
                              (int64 or int32), grad_output, optional grad_h_n / grad_c_n;
                              metadata "gated.run_args" holds the flags `gated run` needs
                              (e.g. "--batch-first --nonlinearity relu")
    <case>.out.safetensors    what torch computes: output, h_n (c_n), and the gradients of
                              Lo = sum(output*grad_output) + sum(h_n*grad_h_n) [+ sum(c_n*grad_c_n)]
                              as grad.input, grad.h0 (grad.c0) and grad.<name> for every
                              recurrent parameter under its name in the model file

Variable lengths go through pack_padded_sequence(enforce_sorted=False) / pad_packed_sequence.
A GRU with a convention nn.GRU does not have (reset before the product, take-candidate) is
computed by make_torch_cases.hand_gru and differentiated by autograd; make_torch_cases.self_check()
verifies that hand-written GRU against nn.GRU first.

Run with Debian's interpreter (it has torch and numpy):

    /usr/bin/python3 tests/reference/make_interop_cases.py
"""

import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import make_torch_cases as mtc

T, B, I, H = 5, 3, 4, 3
ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "tests" / "Gated.Tests" / "Cases" / "interop"
COMMAND = "/usr/bin/python3 tests/reference/make_interop_cases.py"
DTYPES = {"float64": torch.float64, "float32": torch.float32}


class Wrapped(nn.Module):
    """A whole model's state_dict: the recurrent module under `name`, plus a dense head."""

    def __init__(self, name, rnn, out_features):
        super().__init__()
        self.name = name
        self.add_module(name, rnn)
        self.head = nn.Linear(rnn.hidden_size * (2 if rnn.bidirectional else 1), out_features)


def case(name, cell, description, dtype="float64", layers=1, bidir=False, batch_first=False,
         lengths=None, lengths_dtype=torch.int64, bias=True, nonlinearity="tanh", prefix="",
         with_h0=True, with_grad_h_n=True, hand=None, run_args=""):
    return dict(name=name + ("_f64" if dtype == "float64" else "_f32"), cell=cell,
                description=description, dtype=dtype, layers=layers, bidir=bidir,
                batch_first=batch_first, lengths=lengths, lengths_dtype=lengths_dtype, bias=bias,
                nonlinearity=nonlinearity, prefix=prefix, with_h0=with_h0,
                with_grad_h_n=with_grad_h_n, hand=hand, run_args=run_args)


CASES = [
    case("gru_stacked_bidir_varlen", "gru",
         "Two-layer bidirectional nn.GRU, unsorted int64 lengths.",
         layers=2, bidir=True, lengths=[5, 2, 4]),
    case("gru_no_bias", "gru", "One-layer nn.GRU without biases, full-length sequences, float32.",
         dtype="float32", bias=False),
    case("gru_prefixed_batch_first_varlen", "gru",
         "nn.GRU inside a module ('encoder.gru.' prefix, plus a head that is ignored), batch-first, "
         "int32 lengths, no h0 and no grad_h_n in the input.",
         bidir=True, batch_first=True, lengths=[3, 5, 1], lengths_dtype=torch.int32,
         prefix="encoder.gru.", with_h0=False, with_grad_h_n=False, run_args="--batch-first"),
    case("gru_reset_before_take_candidate_varlen", "gru",
         "A GRU with PyTorch's parameter names but reset before the product and the take-candidate "
         "update (hand-written equations, autograd), bidirectional, variable lengths.",
         bidir=True, lengths=[4, 5, 2],
         hand=dict(mtc.GRU_DEFAULTS, reset="before_product", update_gate="take_candidate"),
         run_args="--reset before --update-gate take-candidate"),
    case("lstm_stacked_bidir_varlen", "lstm",
         "Two-layer bidirectional nn.LSTM, unsorted int64 lengths.",
         layers=2, bidir=True, lengths=[5, 2, 4]),
    case("lstm_prefixed_batch_first_varlen", "lstm",
         "nn.LSTM inside a module ('lstm.' prefix, plus a head that is ignored), batch-first, int32 lengths, float32.",
         dtype="float32", batch_first=True, lengths=[2, 5, 3], lengths_dtype=torch.int32,
         prefix="lstm.", run_args="--batch-first"),
    case("rnn_relu_varlen", "rnn", "One-layer nn.RNN(nonlinearity='relu'), unsorted lengths.",
         nonlinearity="relu", lengths=[5, 2, 4], run_args="--nonlinearity relu"),
    case("rnn_tanh_stacked_bidir_no_bias", "rnn",
         "Two-layer bidirectional tanh nn.RNN without biases, float32.",
         dtype="float32", layers=2, bidir=True, bias=False),
]


def run_case(spec):
    """Returns (model tensors, input tensors, expected output tensors, input metadata)."""
    torch.manual_seed(zlib.crc32(spec["name"].encode()))
    dtype = DTYPES[spec["dtype"]]
    cls = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}[spec["cell"]]
    kw = dict(num_layers=spec["layers"], bidirectional=spec["bidir"],
              batch_first=spec["batch_first"], bias=spec["bias"])
    if spec["cell"] == "rnn":
        kw["nonlinearity"] = spec["nonlinearity"]
    rnn = cls(I, H, **kw)
    with torch.no_grad():
        for prm in rnn.parameters():
            prm.mul_(2.0 if spec["cell"] != "rnn" else 1.5)
    prefix = spec["prefix"]
    if prefix:
        *outer, inner = prefix.rstrip(".").split(".")
        module = Wrapped(inner, rnn, 2)
        for name in reversed(outer):
            parent = nn.Module()
            parent.add_module(name, module)
            module = parent
    else:
        module = rnn
    module = module.to(dtype)
    rnn = rnn.to(dtype)
    state = {n: v.detach().clone() for n, v in module.state_dict().items()}

    is_lstm = spec["cell"] == "lstm"
    D, L = (2 if spec["bidir"] else 1), spec["layers"]
    x = torch.randn(*((B, T, I) if spec["batch_first"] else (T, B, I)), dtype=dtype, requires_grad=True)
    h0 = torch.randn(L * D, B, H, dtype=dtype) if spec["with_h0"] else torch.zeros(L * D, B, H, dtype=dtype)
    h0.requires_grad_(True)
    c0 = torch.randn(L * D, B, H, dtype=dtype, requires_grad=True) if is_lstm else None
    lengths = torch.tensor(spec["lengths"], dtype=torch.int64) if spec["lengths"] else None

    params = dict(rnn.named_parameters())
    if spec["hand"] is not None:
        lens = lengths if lengths is not None else torch.full((B,), T, dtype=torch.int64)
        xt = x.transpose(0, 1) if spec["batch_first"] else x
        out, h_n = mtc.hand_gru(xt, h0, lens, params, spec["hand"], L, spec["bidir"])
        if spec["batch_first"]:
            out = out.transpose(0, 1)
        c_n = None
    else:
        hx = (h0, c0) if is_lstm else h0
        if lengths is None:
            out, hn = rnn(x, hx)
        else:
            packed = pack_padded_sequence(x, lengths, batch_first=spec["batch_first"], enforce_sorted=False)
            out, hn = rnn(packed, hx)
            out, _ = pad_packed_sequence(out, batch_first=spec["batch_first"], total_length=T)
        h_n, c_n = hn if is_lstm else (hn, None)

    g_out = torch.randn(out.shape, dtype=dtype)  # random at padded positions too: they must be ignored
    loss = (out * g_out).sum()
    inputs = {"input": x, "grad_output": g_out}
    if spec["with_h0"]:
        inputs["h0"] = h0
    if spec["with_grad_h_n"]:
        g_hn = torch.randn(h_n.shape, dtype=dtype)
        loss = loss + (h_n * g_hn).sum()
        inputs["grad_h_n"] = g_hn
    wrt = {"input": x, "h0": h0}
    if is_lstm:
        g_cn = torch.randn(c_n.shape, dtype=dtype)
        loss = loss + (c_n * g_cn).sum()
        inputs.update({"c0": c0, "grad_c_n": g_cn})
        wrt["c0"] = c0
    wrt.update({prefix + n: p for n, p in params.items()})
    grads = torch.autograd.grad(loss, list(wrt.values()))
    if lengths is not None:
        inputs["lengths"] = lengths.to(spec["lengths_dtype"])

    expected = {"output": out, "h_n": h_n}
    if is_lstm:
        expected["c_n"] = c_n
    for n, g in zip(wrt, grads):
        expected["grad." + n] = g
    detach = lambda d: {n: v.detach() for n, v in d.items()}
    meta = {
        "format": "gated-interop-case", "format_version": "1", "case": spec["name"],
        "description": spec["description"], "dtype": spec["dtype"],
        "gated.run_args": spec["run_args"], "torch_version": torch.__version__, "command": COMMAND,
    }
    return state, detach(inputs), detach(expected), meta


def main():
    torch.set_num_threads(1)
    mtc.ST_DTYPES[torch.int32] = ("I32", "<i4")  # int32 lengths, beside make_torch_cases' dtypes
    mtc.self_check()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    total = 0
    for spec in CASES:
        state, inputs, expected, meta = run_case(spec)
        files = [("model", state, {"format": "pt"}), ("in", inputs, meta), ("out", expected, {"case": spec["name"]})]
        for kind, tensors, metadata in files:
            path = OUT_DIR / f"{spec['name']}.{kind}.safetensors"
            mtc.write_safetensors(path, tensors, metadata)
            back, back_meta = mtc.read_safetensors(path)
            assert back_meta == metadata and set(back) == set(tensors), path
            for n, v in tensors.items():
                assert np.array_equal(back[n], v.numpy()), (path.name, n)
            total += path.stat().st_size
        print(f"{spec['name']}: model {sorted(state)[:2]}..., {len(expected)} expected tensors")
    print(f"{len(CASES)} cases, {3 * len(CASES)} files, {total} bytes in total")


if __name__ == "__main__":
    main()
