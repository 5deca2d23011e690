"""A filter-bank cache that cannot go stale: it is reused only while the parameters are, byte for
byte, the ones it was computed from.

The bank is a pure function of the weight's and bias's values (and of the fixed index). Version
counters and storage addresses do not track those values: an edit through ``.data``, a NumPy array
sharing the weight's memory, or a fresh tensor landing on a freed address all leave them unchanged.
So the cache keeps the parameters' bytes and compares them on every use. Reading the
C_out C_in |H_in| k^2 weights costs less than gathering the |G| times larger bank, and the
comparison cannot be fooled: whatever happened to the parameters, equal bytes give an equal bank.

Only CPU tensors are cached. On a GPU the gather is one small asynchronous kernel, while reading the
weight back to compare it would make the host wait for the device at every layer.
"""

from __future__ import annotations

import torch

_SAME_SIZE_INT = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _memory(tensor: torch.Tensor):
    """A NumPy view of a CPU tensor's memory, as integers of the same size (NumPy has no bfloat16)."""
    bits = tensor.detach()
    if bits.is_floating_point():
        bits = bits.view(_SAME_SIZE_INT[bits.element_size()])
    return bits.numpy()


class _Entry:
    """A cached bank, the key it was stored with, and the parameters' bytes when it was made.

    The NumPy views keep the parameters' memory alive, so no other tensor can be given its
    address: a parameter at the same address, with the same dtype, shape and strides (all in the
    key), reads exactly this memory, and comparing its bytes now with the bytes then is one copy
    (``tobytes``) and one memcmp. What that costs is mostly reading the parameters and their bytes
    back from memory: at batch 1, a 16-channel p4m layer in eval took 1.038 times a bare conv2d,
    1.025 with a memcmp that skips the copy (through ctypes), and 1.0065 with no comparison.
    """

    __slots__ = ("key", "weight", "weight_bytes", "bias", "bias_bytes", "result")

    def __init__(self, key: tuple, weight: torch.Tensor, bias: torch.Tensor | None, result):
        self.key, self.result = key, result
        self.weight = _memory(weight)
        self.weight_bytes = self.weight.tobytes()
        self.bias = None if bias is None else _memory(bias)
        self.bias_bytes = None if bias is None else self.bias.tobytes()


class BankCache:
    """Holds (weight, bias) -> (bank, bank_bias) for CPU parameters, valid while the key it was
    stored with is the same and the parameters' bytes are unchanged. The key must hold each
    parameter's address, dtype, shape and strides, and the inference mode (a bank made in
    inference mode may not be used outside it, and vice versa); the layers use the signature of the
    call, which holds all of these."""

    def __init__(self):
        self._entry = None

    def lookup(self, key: tuple):
        """The cached (bank, bank_bias) if it was stored with this ``key`` and the parameters hold,
        byte for byte, the values it was computed from; else None."""
        entry = self._entry
        if (entry is not None and (entry.key is key or entry.key == key)  # a layer passes the tuple it stored
                and entry.weight.tobytes() == entry.weight_bytes
                and (entry.bias is None or entry.bias.tobytes() == entry.bias_bytes)):
            return entry.result
        return None

    def store(self, key: tuple, weight: torch.Tensor, bias: torch.Tensor | None, result) -> None:
        self._entry = _Entry(key, weight, bias, result)

    def clear(self) -> None:
        self._entry = None

    def __bool__(self) -> bool:
        return self._entry is not None

    def __getstate__(self):
        return {"_entry": None}  # pickle and deepcopy carry no bank: it is rebuilt on first use
