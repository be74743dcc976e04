#!/usr/bin/env python3
"""Writes the dataset seeds of Corpus/pickle with CPython's own pickler (stdlib only, no numpy needed).

The numpy-scalar layout of jsb-chorales-quarter.pkl (numpy.core.multiarray.scalar(dtype('int64'), 8 bytes))
is produced by stand-in 'numpy' modules whose objects reduce exactly like numpy's, so the bytes are what
the real pickler writes for that structure. The other seeds (rich-*, numpy-*) are the CPython 3 / numpy 1.24
test vectors of tests/Gated.Tests/IO/PickleReaderTests.cs, written out as files.

Run from this folder: python3 make_pickles.py
"""
import pickle, struct, sys, types

# Stand-in numpy: just enough for pickle to find the globals by module and name.
numpy = types.ModuleType("numpy"); core = types.ModuleType("numpy.core"); multiarray = types.ModuleType("numpy.core.multiarray")
numpy.core = core; core.multiarray = multiarray
sys.modules.update({"numpy": numpy, "numpy.core": core, "numpy.core.multiarray": multiarray})

class dtype:
    def __init__(self, spec, align=False, copy=True): self.spec = spec
    def __reduce__(self): return (dtype, (self.spec, False, True), (3, "<", None, None, None, -1, -1, 0))
    def __setstate__(self, state): pass
dtype.__module__ = "numpy"; numpy.dtype = dtype

def scalar(dt, data): return (dt, data)
scalar.__module__ = "numpy.core.multiarray"; multiarray.scalar = scalar

class Int64:
    I8 = dtype("i8")
    def __init__(self, v): self.v = v
    def __reduce__(self): return (scalar, (Int64.I8, struct.pack("<q", self.v)))

chords = [[60, 64, 67], [62, 65, 69], [55, 59, 62], [], [21, 108], [48, 52, 55, 60]]
def split(count, length, offset):
    return [[tuple(chords[(t + i + offset) % len(chords)]) for t in range(length)] for i in range(count)]
data = {"train": split(3, 6, 0), "valid": split(1, 4, 1), "test": split(2, 3, 2)}

def numpyfied(d):
    return {k: [[tuple(Int64(p) for p in step) for step in seq] for seq in v] for k, v in d.items()}

with open("pickle/dataset-ints-p2.pkl", "wb") as f: pickle.dump(data, f, protocol=2)
with open("pickle/dataset-ints-p4.pkl", "wb") as f: pickle.dump(data, f, protocol=4)
with open("pickle/dataset-lists-p0.pkl", "wb") as f:
    pickle.dump({k: [[list(s) for s in seq] for seq in v] for k, v in data.items()}, f, protocol=0)
with open("pickle/dataset-numpy-scalars-p2.pkl", "wb") as f: pickle.dump(numpyfied(data), f, protocol=2)
