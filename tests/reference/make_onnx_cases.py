#!/usr/bin/env python3
"""Generate the ONNX conformance cases for Gated's importer (tests/Gated.Tests/Cases/onnx/).

Each case is a pair of files:

    <case>.onnx          the model
    <case>.safetensors   "input.<name>" for every graph input, "expected.<name>" for every
                         graph output, and metadata: where the expected values come from
                         ("reference"), the onnx / numpy / torch versions, and this command.

Four sources, named in the case's "reference" metadata entry and in its file name prefix:

  onnx-node-test   The node tests of Debian's python3-onnx package themselves
                   (onnx/backend/test/case/node/gru.py, lstm.py, rnn.py): every export_*()
                   generator of the GRU, LSTM and RNN classes, model and data as onnx builds them.
  onnx-helper      More cases computed by the same package's GRU_Helper / LSTM_Helper /
                   RNN_Helper reference classes, on random weights, for what the node tests leave
                   out: linear_before_reset = 1, layout = 1, initial states, peepholes.
  numpy            The features those helpers do not implement (bidirectional and reverse
                   directions, sequence_lens, clip, input_forget, the optional activations with
                   activation_alpha / activation_beta, Y_c) computed by numpy_reference() below,
                   written for this script from the operator definitions.
  torch            Small PyTorch 1.13 models exported by torch.onnx.export, with PyTorch's own
                   outputs: they exercise the operators exporters put around the recurrent nodes
                   (Shape, Gather, Unsqueeze, Concat, ConstantOfShape, Slice, Transpose, Reshape,
                   Squeeze, MatMul, Add, Sigmoid, Softmax), at opsets 11, 13 and 14.

Every model is checked with onnx.checker before it is written. Run with Debian's interpreter
(python3-onnx, python3-torch, numpy):

    /usr/bin/python3 tests/reference/make_onnx_cases.py
"""

import importlib
import json
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, checker, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "tests" / "Gated.Tests" / "Cases" / "onnx"
COMMAND = "/usr/bin/python3 tests/reference/make_onnx_cases.py"

DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int32"): "I32", np.dtype("int64"): "I64"}


def write_safetensors(path, tensors, metadata):
    """A minimal safetensors writer: 8-byte header length, JSON header padded to 8 bytes, data."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def versions():
    v = {"onnx_version": onnx.__version__, "numpy_version": np.__version__}
    try:
        import torch
        v["torch_version"] = torch.__version__
    except ImportError:
        pass
    return v


WRITTEN = []


def save(name, model, inputs, outputs, reference):
    """inputs / outputs: lists of arrays in graph order."""
    checker.check_model(model, full_check=True)
    (OUT_DIR / f"{name}.onnx").write_bytes(model.SerializeToString())
    tensors = {}
    for vi, arr in zip(model.graph.input, inputs):
        tensors["input." + vi.name] = np.asarray(arr)
    for vi, arr in zip(model.graph.output, outputs):
        tensors["expected." + vi.name] = np.asarray(arr)
    meta = {"format": "gated.onnx-case", "format_version": "1", "case": name, "reference": reference, "command": COMMAND}
    meta.update(versions())
    write_safetensors(OUT_DIR / f"{name}.safetensors", tensors, meta)
    WRITTEN.append(name)


def value_info(name, arr):
    arr = np.asarray(arr)
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype) if hasattr(helper, "np_dtype_to_tensor_dtype")
                                         else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[arr.dtype], arr.shape)


def node_model(name, node, inputs, outputs, opset=14):
    """A one-node model; inputs / outputs are arrays for the node's present inputs / outputs."""
    ins = [value_info(n, a) for n, a in zip([i for i in node.input if i], inputs)]
    outs = [value_info(n, a) for n, a in zip([o for o in node.output if o], outputs)]
    graph = helper.make_graph([node], name, ins, outs)
    return helper.make_model(graph, producer_name="make_onnx_cases", opset_imports=[helper.make_operatorsetid("", opset)])


# ----------------------------------------------------------------------------
# 1. onnx's own node tests
# ----------------------------------------------------------------------------

def node_tests():
    np.random.seed(0)  # the seq_length generators draw random weights
    import onnx.backend.test.case.node as cases
    for op, module, cls in [("GRU", "gru", "GRU"), ("LSTM", "lstm", "LSTM"), ("RNN", "rnn", "RNN")]:
        m = importlib.import_module("onnx.backend.test.case.node." + module)
        cases._TargetOpType = op
        start = len(cases._NodeTestCases)
        for attr in sorted(dir(getattr(m, cls))):
            if attr.startswith("export"):
                getattr(getattr(m, cls), attr)()
        for case in cases._NodeTestCases[start:]:
            ins, outs = case.data_sets[0]
            save("node_" + case.name[len("test_"):], case.model, ins, outs, "onnx-node-test")


# ----------------------------------------------------------------------------
# 2. onnx's reference helpers on more inputs
# ----------------------------------------------------------------------------

def helper_tests():
    from onnx.backend.test.case.node.gru import GRU_Helper
    from onnx.backend.test.case.node.lstm import LSTM_Helper
    from onnx.backend.test.case.node.rnn import RNN_Helper
    rng = np.random.default_rng(20240614)

    def rand(*shape, scale=0.5):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    T, B, I, H = 4, 3, 3, 4
    # GRU, linear_before_reset = 1, with bias and initial state.
    X, W, R, Bias, h0 = rand(T, B, I, scale=1), rand(1, 3 * H, I), rand(1, 3 * H, H), rand(1, 6 * H), rand(1, B, H)
    y, yh = GRU_Helper(X=X, W=W, R=R, B=Bias, initial_h=h0, linear_before_reset=1).step()
    node = helper.make_node("GRU", ["X", "W", "R", "B", "", "initial_h"], ["Y", "Y_h"], hidden_size=H, linear_before_reset=1)
    save("helper_gru_linear_before_reset", node_model("g", node, [X, W, R, Bias, h0], [y.astype(np.float32), yh.astype(np.float32)]),
         [X, W, R, Bias, h0], [y.astype(np.float32), yh.astype(np.float32)], "onnx-helper")
    # GRU, layout = 1, linear_before_reset = 0, with bias.
    Xb = rand(B, T, I, scale=1)
    W, R, Bias = rand(1, 3 * H, I), rand(1, 3 * H, H), rand(1, 6 * H)
    # (The helpers take their default zero state from X's second dimension, which is T under
    # layout 1, so the zero initial states are passed to them explicitly; the nodes get none. Their
    # layout-1 Y_h is Y[:, :, -1, :], which is (B, D, H) only when T = 1, as in the node tests;
    # here Y_h is taken from their Y as the last step, Y[:, -1], which is (B, D, H).)
    zeros = np.zeros((1, B, H), dtype=np.float32)
    y, _ = GRU_Helper(X=Xb, W=W, R=R, B=Bias, initial_h=zeros, layout=1).step()
    yh = y[:, -1]
    node = helper.make_node("GRU", ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=H, layout=1)
    outs = [y.astype(np.float32), yh.astype(np.float32)]
    save("helper_gru_layout1", node_model("g", node, [Xb, W, R, Bias], outs), [Xb, W, R, Bias], outs, "onnx-helper")
    # LSTM with peepholes and both initial states.
    W, R, Bias, P, h0, c0 = rand(1, 4 * H, I), rand(1, 4 * H, H), rand(1, 8 * H), rand(1, 3 * H), rand(1, B, H), rand(1, B, H)
    y, yh = LSTM_Helper(X=X, W=W, R=R, B=Bias, P=P, initial_h=h0, initial_c=c0).step()
    node = helper.make_node("LSTM", ["X", "W", "R", "B", "", "initial_h", "initial_c", "P"], ["Y", "Y_h"], hidden_size=H)
    ins, outs = [X, W, R, Bias, h0, c0, P], [y.astype(np.float32), yh.astype(np.float32)]
    save("helper_lstm_peepholes_initial_states", node_model("l", node, ins, outs), ins, outs, "onnx-helper")
    # LSTM, layout = 1.
    W, R, Bias = rand(1, 4 * H, I), rand(1, 4 * H, H), rand(1, 8 * H)
    y, _ = LSTM_Helper(X=Xb, W=W, R=R, B=Bias, initial_h=zeros, initial_c=zeros, layout=1).step()
    yh = y[:, -1]
    node = helper.make_node("LSTM", ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=H, layout=1)
    ins, outs = [Xb, W, R, Bias], [y.astype(np.float32), yh.astype(np.float32)]
    save("helper_lstm_layout1", node_model("l", node, ins, outs), ins, outs, "onnx-helper")
    # RNN with initial state; RNN with layout = 1.
    W, R, Bias, h0 = rand(1, H, I), rand(1, H, H), rand(1, 2 * H), rand(1, B, H)
    y, yh = RNN_Helper(X=X, W=W, R=R, B=Bias, initial_h=h0).step()
    node = helper.make_node("RNN", ["X", "W", "R", "B", "", "initial_h"], ["Y", "Y_h"], hidden_size=H)
    ins, outs = [X, W, R, Bias, h0], [y.astype(np.float32), yh.astype(np.float32)]
    save("helper_rnn_initial_state", node_model("r", node, ins, outs), ins, outs, "onnx-helper")
    y, _ = RNN_Helper(X=Xb, W=W, R=R, B=Bias, initial_h=zeros, layout=1).step()
    yh = y[:, -1]
    node = helper.make_node("RNN", ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=H, layout=1)
    ins, outs = [Xb, W, R, Bias], [y.astype(np.float32), yh.astype(np.float32)]
    save("helper_rnn_layout1", node_model("r", node, ins, outs), ins, outs, "onnx-helper")


# ----------------------------------------------------------------------------
# 3. numpy reference for the rest of the attributes
# ----------------------------------------------------------------------------

ACTIVATIONS = {
    "Sigmoid": lambda x, a, b: 1 / (1 + np.exp(-x)),
    "Tanh": lambda x, a, b: np.tanh(x),
    "Relu": lambda x, a, b: np.maximum(x, 0),
    "HardSigmoid": lambda x, a, b: np.clip(a * x + b, 0, 1),
    "LeakyRelu": lambda x, a, b: np.where(x >= 0, x, a * x),
    "ThresholdedRelu": lambda x, a, b: np.where(x >= a, x, 0),
    "ScaledTanh": lambda x, a, b: a * np.tanh(b * x),
    "Affine": lambda x, a, b: a * x + b,
    "Elu": lambda x, a, b: np.where(x >= 0, x, a * (np.exp(x) - 1)),
    "Softsign": lambda x, a, b: x / (1 + np.abs(x)),
    "Softplus": lambda x, a, b: np.log1p(np.exp(x)),
}
ALPHA = {"HardSigmoid": 0.2, "LeakyRelu": 0.01, "ThresholdedRelu": 1.0, "ScaledTanh": 1.0, "Affine": 1.0, "Elu": 1.0}
BETA = {"HardSigmoid": 0.5, "ScaledTanh": 1.0, "Affine": 0.0}
DEFAULTS = {"GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"], "RNN": ["Tanh"]}
GATES = {"GRU": 3, "LSTM": 4, "RNN": 1}


def numpy_reference(op, attrs, X, W, R, B=None, seq=None, h0=None, c0=None, P=None):
    """The ONNX recurrent operators in float64, one sequence and one direction at a time.

    attrs: direction, layout, linear_before_reset, input_forget, clip, activations,
    activation_alpha, activation_beta. Returns Y, Y_h (and Y_c for the LSTM) in the node's layout.
    """
    layout = attrs.get("layout", 0)
    X = X.astype(np.float64)
    if layout == 1:
        X = X.swapaxes(0, 1)
        h0 = None if h0 is None else h0.swapaxes(0, 1)
        c0 = None if c0 is None else c0.swapaxes(0, 1)
    steps, batch, _ = X.shape
    D, H, G = W.shape[0], R.shape[-1], GATES[op]
    direction = attrs.get("direction", "forward")
    names = attrs.get("activations", DEFAULTS[op] * D)
    alphas, betas = list(attrs.get("activation_alpha", [])), list(attrs.get("activation_beta", []))
    acts = []
    for n in names:  # alpha / beta consumed in order by the activations that take them
        a = alphas.pop(0) if n in ALPHA and alphas else ALPHA.get(n, 0.0)
        b = betas.pop(0) if n in BETA and betas else BETA.get(n, 0.0)
        acts.append((ACTIVATIONS[n], a, b))
    k = len(DEFAULTS[op])
    clip = attrs.get("clip")
    cl = (lambda v: np.clip(v, -clip, clip)) if clip is not None else (lambda v: v)
    lens = np.full(batch, steps) if seq is None else seq
    Y = np.zeros((steps, D, batch, H))
    Yh = np.zeros((D, batch, H))
    Yc = np.zeros((D, batch, H))
    for d in range(D):
        f, g, hh = [(lambda v, fn=fn, a=a, b=b: fn(v, a, b)) for fn, a, b in acts[d * k:(d + 1) * k]] + [None] * (3 - k)
        reverse = direction == "reverse" or d == 1
        w, r = W[d].astype(np.float64), R[d].astype(np.float64)
        wb, rb = (np.zeros(G * H), np.zeros(G * H)) if B is None else (B[d, :G * H].astype(np.float64), B[d, G * H:].astype(np.float64))
        p = np.zeros(3 * H) if P is None else P[d].astype(np.float64)
        for b in range(batch):
            h = np.zeros(H) if h0 is None else h0[d, b].astype(np.float64)
            c = np.zeros(H) if c0 is None else c0[d, b].astype(np.float64)
            n = int(lens[b])
            for t in (range(n - 1, -1, -1) if reverse else range(n)):
                x = X[t, b]
                if op == "GRU":
                    z = f(cl(w[:H] @ x + r[:H] @ h + wb[:H] + rb[:H]))
                    rr = f(cl(w[H:2 * H] @ x + r[H:2 * H] @ h + wb[H:2 * H] + rb[H:2 * H]))
                    if attrs.get("linear_before_reset", 0):
                        cand = g(cl(w[2 * H:] @ x + rr * (r[2 * H:] @ h + rb[2 * H:]) + wb[2 * H:]))
                    else:
                        cand = g(cl(w[2 * H:] @ x + r[2 * H:] @ (rr * h) + rb[2 * H:] + wb[2 * H:]))
                    h = (1 - z) * cand + z * h
                elif op == "LSTM":
                    pre = w @ x + r @ h + wb + rb
                    i = f(cl(pre[:H] + p[:H] * c))
                    fg = 1 - i if attrs.get("input_forget", 0) else f(cl(pre[2 * H:3 * H] + p[2 * H:] * c))
                    c = fg * c + i * g(cl(pre[3 * H:]))
                    o = f(cl(pre[H:2 * H] + p[H:2 * H] * c))
                    h = o * hh(cl(c))
                else:
                    h = f(cl(w @ x + r @ h + wb + rb))
                Y[t, d, b] = h
            if n == 0:  # as ONNX Runtime: a sequence of length 0 has zero final states
                h, c = np.zeros(H), np.zeros(H)
            Yh[d, b], Yc[d, b] = h, c
    if layout == 1:
        Y, Yh, Yc = Y.transpose(2, 0, 1, 3), Yh.swapaxes(0, 1), Yc.swapaxes(0, 1)
    out = [Y.astype(np.float32), Yh.astype(np.float32)]
    return out + [Yc.astype(np.float32)] if op == "LSTM" else out


def self_check():
    """numpy_reference() must agree with onnx's own helpers wherever both apply."""
    from onnx.backend.test.case.node.gru import GRU_Helper
    from onnx.backend.test.case.node.lstm import LSTM_Helper
    from onnx.backend.test.case.node.rnn import RNN_Helper
    rng = np.random.default_rng(99)
    T, B, I, H = 4, 2, 3, 5
    X, h0, c0 = rng.standard_normal((T, B, I)), rng.standard_normal((1, B, H)), rng.standard_normal((1, B, H))
    for lbr in (0, 1):
        W, R, Bias = rng.standard_normal((1, 3 * H, I)), rng.standard_normal((1, 3 * H, H)), rng.standard_normal((1, 6 * H))
        y, _ = GRU_Helper(X=X, W=W, R=R, B=Bias, initial_h=h0, linear_before_reset=lbr).step()
        mine = numpy_reference("GRU", dict(linear_before_reset=lbr), X, W, R, Bias, None, h0)[0]
        assert np.allclose(mine, y.astype(np.float32), rtol=1e-6, atol=1e-6), f"GRU lbr={lbr}"
    W, R, Bias, P = rng.standard_normal((1, 4 * H, I)), rng.standard_normal((1, 4 * H, H)), rng.standard_normal((1, 8 * H)), rng.standard_normal((1, 3 * H))
    y, _ = LSTM_Helper(X=X, W=W, R=R, B=Bias, P=P, initial_h=h0, initial_c=c0).step()
    assert np.allclose(numpy_reference("LSTM", {}, X, W, R, Bias, None, h0, c0, P)[0], y.astype(np.float32), rtol=1e-6, atol=1e-6), "LSTM"
    W, R, Bias = rng.standard_normal((1, H, I)), rng.standard_normal((1, H, H)), rng.standard_normal((1, 2 * H))
    y, _ = RNN_Helper(X=X, W=W, R=R, B=Bias, initial_h=h0).step()
    assert np.allclose(numpy_reference("RNN", {}, X, W, R, Bias, None, h0)[0], y.astype(np.float32), rtol=1e-6, atol=1e-6), "RNN"


def numpy_tests():
    self_check()
    rng = np.random.default_rng(7)

    def rand(*shape, scale=0.5):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    T, B, I, H = 5, 3, 3, 4
    lens = np.array([5, 2, 4], dtype=np.int32)
    specs = [
        ("gru_bidirectional_seq_lens", "GRU", dict(direction="bidirectional"), True, True, False),
        ("gru_bidirectional_linear_before_reset_layout1", "GRU", dict(direction="bidirectional", linear_before_reset=1, layout=1), False, True, False),
        ("gru_reverse_clip", "GRU", dict(direction="reverse", clip=0.6), True, True, False),
        ("gru_hard_sigmoid_leaky_relu", "GRU", dict(activations=["HardSigmoid", "LeakyRelu"], activation_alpha=[0.3, 0.1], activation_beta=[0.4]), False, False, False),
        ("gru_bidirectional_per_direction_activations", "GRU",
         dict(direction="bidirectional", activations=["Sigmoid", "Softsign", "HardSigmoid", "Tanh"], linear_before_reset=1), True, False, False),
        ("lstm_bidirectional_peepholes_seq_lens", "LSTM", dict(direction="bidirectional"), True, True, True),
        ("lstm_input_forget_clip", "LSTM", dict(input_forget=1, clip=0.8), False, True, False),
        ("lstm_scaled_tanh_softplus", "LSTM",
         dict(activations=["Sigmoid", "ScaledTanh", "Softplus"], activation_alpha=[1.5], activation_beta=[0.7]), False, True, False),
        ("lstm_reverse_layout1", "LSTM", dict(direction="reverse", layout=1), False, True, True),
        ("lstm_activations_thresholded", "LSTM", dict(activations=["HardSigmoid", "ThresholdedRelu", "Elu"], activation_alpha=[0.25, 0.1, 0.9], activation_beta=[0.55]), False, False, False),
        ("rnn_reverse_seq_lens_with_zero_length", "RNN", dict(direction="reverse", activations=["Relu"]), True, True, False),
        ("rnn_bidirectional_affine_elu", "RNN", dict(direction="bidirectional", activations=["Affine", "Elu"], activation_alpha=[0.8, 0.5], activation_beta=[0.1]), False, True, False),
        ("rnn_clip_softsign", "RNN", dict(activations=["Softsign"], clip=0.5), True, False, False),
    ]
    for name, op, attrs, use_lens, use_h0, use_p in specs:
        D = 2 if attrs.get("direction") == "bidirectional" else 1
        G = GATES[op]
        layout = attrs.get("layout", 0)
        X = rand(T, B, I, scale=1) if layout == 0 else rand(B, T, I, scale=1)
        W, R, Bias = rand(D, G * H, I), rand(D, G * H, H), rand(D, 2 * G * H)
        seq = None
        if use_lens:
            seq = np.array([5, 0, 1], dtype=np.int32) if "zero_length" in name else lens
        state_shape = (D, B, H) if layout == 0 else (B, D, H)
        h0 = rand(*state_shape) if use_h0 else None
        c0 = rand(*state_shape) if use_h0 and op == "LSTM" else None
        P = rand(D, 3 * H) if use_p else None
        outs = numpy_reference(op, attrs, X, W, R, Bias, seq, h0, c0, P)
        names = ["X", "W", "R", "B", "sequence_lens" if seq is not None else "", "initial_h" if h0 is not None else ""]
        arrays = [X, W, R, Bias] + [a for a in (seq, h0) if a is not None]
        if op == "LSTM":
            names += ["initial_c" if c0 is not None else "", "P" if P is not None else ""]
            arrays += [a for a in (c0, P) if a is not None]
        while names[-1] == "":
            names.pop()
        outputs = ["Y", "Y_h", "Y_c"][:len(outs)]
        node = helper.make_node(op, names, outputs, hidden_size=H, **attrs)
        save("numpy_" + name, node_model(name, node, arrays, outs), arrays, outs, "numpy")


# ----------------------------------------------------------------------------
# 4. torch.onnx.export golden files
# ----------------------------------------------------------------------------

def torch_tests():
    import torch
    import torch.nn as nn
    torch.manual_seed(1234)

    class GruHead(nn.Module):
        """GRU (batch-first) with a Linear + Sigmoid head, as a next-step music model."""
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(5, 6, batch_first=True)
            self.head = nn.Linear(6, 4)

        def forward(self, x):
            y, h = self.rnn(x)
            return torch.sigmoid(self.head(y)), h

    class Lstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(4, 5)

        def forward(self, x, h0, c0):
            y, (h, c) = self.rnn(x, (h0, c0))
            return y, h, c

    class BiGru2(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 5, num_layers=2, bidirectional=True)

        def forward(self, x):
            y, h = self.rnn(x)
            return y[-1], h

    class BiRnnSoftmax(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(4, 5, nonlinearity="relu", bidirectional=True, batch_first=True)
            self.head = nn.Linear(10, 3)

        def forward(self, x):
            y, h = self.rnn(x)
            return torch.softmax(self.head(y), dim=-1), h

    cases = [
        ("torch_gru_linear_sigmoid", GruHead(), (torch.randn(2, 7, 5),), ["x"], ["probabilities", "h_n"], 14, {"x": {0: "batch", 1: "steps"}}),
        ("torch_lstm_initial_states_opset11", Lstm(), (torch.randn(6, 2, 4), torch.randn(1, 2, 5), torch.randn(1, 2, 5)),
         ["x", "h0", "c0"], ["y", "h_n", "c_n"], 11, {"x": {0: "steps", 1: "batch"}, "h0": {1: "batch"}, "c0": {1: "batch"}}),
        ("torch_gru_bidirectional_2_layers", BiGru2(), (torch.randn(6, 3, 4),), ["x"], ["last", "h_n"], 14, {"x": {0: "steps", 1: "batch"}}),
        ("torch_rnn_relu_bidirectional_softmax_opset13", BiRnnSoftmax(), (torch.randn(3, 5, 4),), ["x"], ["p", "h_n"], 13, {"x": {0: "batch", 1: "steps"}}),
    ]
    tmp = OUT_DIR / "_export.onnx"
    for name, module, args, in_names, out_names, opset, axes in cases:
        module.eval()
        with torch.no_grad():
            expected = module(*args)
        torch.onnx.export(module, args, str(tmp), input_names=in_names, output_names=out_names, opset_version=opset, dynamic_axes=axes)
        model = onnx.load(str(tmp))
        tmp.unlink()
        model.producer_name = "pytorch"
        save(name, model, [a.numpy() for a in args], [e.numpy() for e in expected], "torch")


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in list(OUT_DIR.glob("*.onnx")) + list(OUT_DIR.glob("*.safetensors")):
        old.unlink()
    node_tests()
    helper_tests()
    numpy_tests()
    torch_tests()
    print(f"wrote {len(WRITTEN)} cases to {OUT_DIR.relative_to(ROOT)}:")
    for name in WRITTEN:
        print("  " + name)


if __name__ == "__main__":
    sys.exit(main())
