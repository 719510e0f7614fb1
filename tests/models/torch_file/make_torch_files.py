#!/usr/bin/python3
"""Writes files with PyTorch's own torch.save, in every form apot's reader must take, and expected.json
with what each holds (names, dtypes, shapes, values as float64), for tests/models/torch_file.

usage: make_torch_files.py OUT_DIR [REFERENCE_TRAINED_DIR]
With REFERENCE_TRAINED_DIR (../shared/testdata/reference-trained), it also re-saves each released
checkpoint's state_dict as a zip OrderedDict (res20_<b>bit_ordereddict.pt) and as a zip checkpoint dict with
'module.' keys and optimizer state (res20_<b>bit_checkpoint.pt).
"""
import collections
import json
import os
import pickle
import struct
import sys
import zipfile

import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
expected = {}
torch.manual_seed(3)


def describe(state):
    return {name: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                   "values": t.detach().to(torch.float64).flatten().tolist()}
            for name, t in state.items()}


def save(name, obj, state=None, **kwargs):
    """torch.save(obj) to name; `state` (name -> tensor) is what the reader must find in it."""
    torch.save(obj, os.path.join(out, name), **kwargs)
    if state is not None:
        expected[name] = describe(state)


LEGACY = {"_use_new_zipfile_serialization": False}

# Every dtype the reader converts or keeps, in an OrderedDict as model.state_dict() returns one.
dtypes = collections.OrderedDict()
for dtype in (torch.float64, torch.float32, torch.float16, torch.bfloat16):
    dtypes["f_" + str(dtype)[6:]] = torch.randn(2, 3).to(dtype)
for dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
    dtypes["i_" + str(dtype)[6:]] = torch.randint(0, 100, (5,)).to(dtype)
dtypes["bool"] = torch.tensor([True, False, True])
dtypes["scalar"] = torch.tensor(7, dtype=torch.int64)
dtypes["empty"] = torch.zeros(0, 3)
for protocol in (2, 4, 5):
    save(f"dtypes_p{protocol}.pt", dtypes, dtypes, pickle_protocol=protocol)
save("dtypes_legacy.pt", dtypes, dtypes, **LEGACY)

# Views: several tensors of one storage, with offsets and strides (torch.save keeps them views).
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
views = collections.OrderedDict(whole=base, row=base[1], column=base[:, 2], transposed=base.t(),
                                block=base[1:3, 2:5], every_other=base[::2, ::3])
save("views.pt", views, views)
save("views_legacy.pt", views, views, **LEGACY)

# A training script's checkpoint: DataParallel keys, optimizer state, other entries.
net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                          torch.nn.Linear(4 * 4 * 4, 3))
net(torch.randn(2, 1, 6, 6)).sum().backward()
sgd = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
sgd.step()
state = net.state_dict()
wrapped = collections.OrderedDict(("module." + k, v) for k, v in state.items())
checkpoint = {"epoch": 7, "state_dict": wrapped, "best_prec": 91.5, "optimizer": sgd.state_dict()}
save("checkpoint.pt", checkpoint, state)
save("checkpoint_legacy.pt", checkpoint, state, **LEGACY)
save("model_state_dict.pt", {"model_state_dict": state, "epoch": 2}, state)
save("custom_key.pt", {"ema": state, "raw": state, "step": 10})
save("whole_model.pt", net, state)
save("whole_model_legacy.pt", net, state, **LEGACY)
save("parameters.pt", collections.OrderedDict((k, torch.nn.Parameter(v.float())) for k, v in state.items()
                                              if v.is_floating_point()),
     {k: v for k, v in state.items() if v.is_floating_point()})
save("tensor.pt", base.t(), {"": base.t()})
save("tensor_legacy.pt", base.t(), {"": base.t()}, **LEGACY)

# What is not a state_dict.
save("list.pt", [1, 2, 3])
save("complex.pt", {"w": torch.randn(2, dtype=torch.complex64)})
save("no_state_dict.pt", {"epoch": 1, "weights": [1.0, 2.0]})
save("nested_non_tensor.pt", {"state_dict": {"w": torch.ones(2), "note": "hello"}})
torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(out, "torchscript.pt"))

# The same archive with its entries deflated (torch.save stores them; other zip tools may not).
with zipfile.ZipFile(os.path.join(out, "views.pt")) as src, \
        zipfile.ZipFile(os.path.join(out, "views_deflated.pt"), "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))
expected["views_deflated.pt"] = expected["views.pt"]


# Legacy files written by hand, as torch.save's legacy writer lays them out, to make them wrong on purpose.
class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class Rebuilt:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


class LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel, None)
        return None


def write_legacy(name, obj, storages, keys=None, magic=0x1950a86a20f9469cfc6c, protocol=1001):
    """storages: key -> list of floats written after the pickles; keys: the key list (default: sorted)."""
    with open(os.path.join(out, name), "wb") as f:
        pickle.dump(magic, f, protocol=2)
        pickle.dump(protocol, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True}, f, protocol=2)
        LegacyPickler(f, protocol=2).dump(obj)
        pickle.dump(sorted(storages) if keys is None else keys, f, protocol=2)
        for key in sorted(storages):
            values = storages[key]
            f.write(struct.pack("<q", len(values)))
            f.write(struct.pack(f"<{len(values)}f", *values))


four = Storage("0", 4)
write_legacy("hand_legacy.pt", {"w": Rebuilt(four, 1, (3,), (1,))}, {"0": [1, 2, 3, 4]})
expected["hand_legacy.pt"] = describe({"w": torch.tensor([2.0, 3.0, 4.0])})
write_legacy("bad_beyond_storage.pt", {"w": Rebuilt(four, 2, (3,), (1,))}, {"0": [1, 2, 3, 4]})
write_legacy("bad_strides.pt", {"w": Rebuilt(four, 0, (2, 2), (3, 1))}, {"0": [1, 2, 3, 4]})
write_legacy("bad_numel_mismatch.pt", {"w": Rebuilt(four, 0, (4,), (1,))}, {"0": [1, 2, 3]})
write_legacy("bad_unlisted_storage.pt", {"w": Rebuilt(four, 0, (4,), (1,))}, {"0": [1, 2, 3, 4]}, keys=[])
write_legacy("bad_magic.pt", {"w": Rebuilt(four, 0, (4,), (1,))}, {"0": [1, 2, 3, 4]}, magic=12345)
write_legacy("bad_protocol.pt", {"w": Rebuilt(four, 0, (4,), (1,))}, {"0": [1, 2, 3, 4]}, protocol=1000)
with open(os.path.join(out, "plain_pickle.pt"), "wb") as f:
    pickle.dump({"w": [1.0, 2.0]}, f, protocol=2)

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f)

if len(sys.argv) > 2:
    for bits in (2, 3, 4, 32):
        ckpt = torch.load(os.path.join(sys.argv[2], f"res20_{bits}bit_model_best.pth.tar"), map_location="cpu")
        plain = collections.OrderedDict((k[len("module."):], v) for k, v in ckpt["state_dict"].items())
        torch.save(plain, os.path.join(out, f"res20_{bits}bit_ordereddict.pt"))
        opt = {"state": {i: {"momentum_buffer": torch.zeros_like(v)} for i, v in enumerate(plain.values())
                         if v.is_floating_point()},
               "param_groups": [{"lr": 0.04, "momentum": 0.9, "params": list(range(len(plain)))}]}
        torch.save({"epoch": ckpt["epoch"], "state_dict": ckpt["state_dict"], "best_prec": ckpt["best_prec"],
                    "optimizer": opt}, os.path.join(out, f"res20_{bits}bit_checkpoint.pt"))
