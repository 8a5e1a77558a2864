"""The wire format (coursetools/boundary/wire.py), as a unit: what crosses, exactly, and what is refused.

线路格式的单元测试：哪些数据能原样通过，哪些会被拒绝。
"""
import json
import math
import os
import struct
from collections import OrderedDict

import numpy as np
import pytest
import torch

from coursetools.boundary import wire


def roundtrip(value, **kwargs):
    return wire.loads(wire.dumps(value), **kwargs)


def frame_with(tree, blobs=()) -> bytes:
    """A hand-made frame carrying `tree` (a peer that does not use dumps)."""
    header = json.dumps({"msg": tree, "blobs": [len(b) for b in blobs]}).encode()
    return struct.pack("<4sIQ", wire.MAGIC, len(header), sum(len(b) for b in blobs)) + header + b"".join(blobs)


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**80, 1.5, "text 中文", b"\x00\xff", [], [1, [2, [3]]], (1, "a"), {"k": 1},
    {1: "int key", (2, 3): "tuple key"}, torch.float32, torch.device("cpu"),
])
def test_plain_data_crosses_unchanged(value):
    """Check plain values come back equal and of the same type."""
    back = roundtrip(value)
    assert back == value and type(back) is type(value)


def test_special_floats_cross():
    """Check nan and the infinities cross (JSON alone cannot carry them)."""
    back = roundtrip([math.nan, math.inf, -math.inf])
    assert math.isnan(back[0]) and back[1:] == [math.inf, -math.inf]


def test_a_size_crosses_as_the_tuple_it_equals():
    """Check torch.Size arrives as a plain tuple equal to it (shapes compare the same)."""
    back = roundtrip(torch.Size([2, 3]))
    assert back == (2, 3) and back == torch.Size([2, 3])


def test_a_state_dict_keeps_its_order():
    """Check a state_dict-like OrderedDict arrives as a dict with its keys in order."""
    value = OrderedDict([("b", torch.ones(1)), ("a", torch.zeros(2))])
    back = roundtrip(value)
    assert list(back) == ["b", "a"] and torch.equal(back["a"], torch.zeros(2))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                                   torch.uint8, torch.bool, torch.complex64])
def test_tensors_keep_dtype_shape_values(dtype):
    """Check a tensor comes back with its dtype, shape and exact values."""
    t = (torch.arange(12).reshape(3, 4) % 3).to(dtype)
    back = roundtrip(t)
    assert back.dtype == dtype and back.shape == t.shape and torch.equal(back, t)


def test_a_view_keeps_its_strides_and_contiguity():
    """Check a transposed view stays non-contiguous (pitfall view-non-contiguous must survive the wire)."""
    t = torch.arange(6.0).reshape(2, 3).t()
    back = roundtrip(t)
    assert back.stride() == t.stride() and not back.is_contiguous() and torch.equal(back, t)


def test_requires_grad_and_grad_cross():
    """Check requires_grad and a leaf's .grad cross with the tensor."""
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    back = roundtrip(w)
    assert back.requires_grad and torch.equal(back.grad, torch.tensor([2.0, 4.0]))


def test_meta_tensors_cross_without_data():
    """Check a meta tensor (the device tests') crosses as shape and dtype only."""
    back = roundtrip(torch.empty(2, 3, device="meta"))
    assert back.device.type == "meta" and back.shape == (2, 3)


def test_numpy_arrays_and_scalars_cross():
    """Check arrays and NumPy scalars keep dtype and values."""
    array = np.arange(6, dtype=np.int16).reshape(2, 3)
    back = roundtrip([array, np.float32(2.5)])
    assert back[0].dtype == np.int16 and (back[0] == array).all()
    assert back[1] == np.float32(2.5) and isinstance(back[1], np.float32)


def test_objects_become_handles_only_through_the_encoder():
    """Check a model is refused as data, and crosses as a Handle (number only) when the sender makes one."""
    with pytest.raises(wire.WireError):
        wire.dumps(torch.nn.Linear(2, 2))
    frame = wire.dumps([torch.nn.Linear(2, 2)], encode_other=lambda v: wire.Handle(7, type(v).__name__))
    back = wire.loads(frame)
    assert isinstance(back[0], wire.Handle) and back[0].id == 7 and back[0].type == "Linear"
    assert wire.loads(frame, decode_handle=lambda h: ("resolved", h.id)) == [("resolved", 7)]


@pytest.mark.parametrize("value", [object(), np.array(["a", "b"]), np.array([{}], dtype=object), {1, 2}])
def test_non_data_is_refused_when_sent(value):
    """Check objects, string and object arrays, sets are refused by the sender."""
    with pytest.raises(wire.WireError):
        wire.dumps(value)


@pytest.mark.parametrize("frame", [
    b"", b"CRS", b"XXXX" + bytes(12), wire.dumps(1)[:-1], wire.dumps(1) + b"!",
    struct.pack("<4sIQ", wire.MAGIC, wire.MAX_HEADER + 1, 0),
    struct.pack("<4sIQ", wire.MAGIC, 2, 0) + b"{]",
])
def test_malformed_frames_are_refused(frame):
    """Check truncated, padded, foreign, oversized and non-JSON frames raise WireError."""
    with pytest.raises(wire.WireError):
        wire.loads(frame)


@pytest.mark.parametrize("tree, blobs", [
    ({"$pickle": "gASVAAAAAAAAAAAu"}, ()),  # an unknown tag: never a pickle
    ({"$dtype": "object"}, ()),  # a dtype outside the allow-list
    ({"$tensor": {"dtype": "float32", "shape": [1000, 1000], "stride": [1000, 1], "offset": 0, "device": "cpu",
                  "data": 0, "requires_grad": False}}, (b"\x00" * 8,)),  # data smaller than its shape
    ({"$tensor": {"dtype": "float32", "shape": [2], "data": 5}}, ()),  # a missing blob
    ({"$dict": [[1]]}, ()),  # a malformed dict
    ({"$dict": [[[1], 2]]}, ()),  # an unhashable key
    ({"$device": "warp-drive"}, ()),
])
def test_a_hostile_peer_cannot_build_objects(tree, blobs):
    """Check the decoder refuses unknown tags, foreign dtypes and tensors whose data does not fit their shape."""
    with pytest.raises(wire.WireError):
        wire.loads(frame_with(tree, blobs))


def test_depth_is_limited_both_ways():
    """Check a value nested deeper than MAX_DEPTH is refused by the sender and the receiver."""
    deep = []
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.WireError):
        wire.dumps(deep)
    tree = []
    for _ in range(wire.MAX_DEPTH + 5):
        tree = [tree]
    with pytest.raises(wire.WireError):
        wire.loads(frame_with(tree))


def test_frames_cross_a_pipe():
    """Check write_frame and Reader carry two frames through a real pipe, in order."""
    read_fd, write_fd = os.pipe()
    try:
        wire.write_frame(write_fd, wire.dumps({"a": torch.ones(3)}))
        wire.write_frame(write_fd, wire.dumps("second"))
        reader = wire.Reader(read_fd)
        first = wire.loads(reader.read())
        assert torch.equal(first["a"], torch.ones(3)) and wire.loads(reader.read()) == "second"
    finally:
        os.close(read_fd)
        os.close(write_fd)


# ------------------------------------------------------------------ kinds: what a contract calls a tuple stays one

Products = __import__("collections").namedtuple("Products", "elementwise matrix")


class LossGrads(__import__("typing").NamedTuple):
    loss: torch.Tensor
    w_grad: torch.Tensor


@pytest.mark.parametrize("value, base", [
    (Products(1, 2), tuple), (LossGrads(torch.ones(()), torch.zeros(2)), tuple),
    (torch.max(torch.tensor([[1.0, 3.0]]), dim=1), tuple),  # torch.return_types.max
    (type("Items", (list,), {})([1, 2]), list),
    (__import__("collections").defaultdict(int, {"a": 1}), dict), (OrderedDict(b=1, a=2), dict),
])
def test_container_subclasses_cross_as_their_base_type(value, base):
    """Check named tuples, torch.return_types, list and dict subclasses arrive as plain data of their base type,
    never as a handle (the contract's "returns a tuple" is met by a named tuple)."""
    back = wire.loads(wire.dumps(value, encode_other=lambda v: wire.Handle(1, "other")))
    assert type(back) is base and len(back) == len(value)
    if base is dict:
        assert list(back.items()) == list(value.items())
    else:
        for got, sent in zip(back, value):
            assert (torch.equal(got, sent) if isinstance(sent, torch.Tensor) else got == sent)


def test_tensor_subclasses_cross_as_plain_tensors():
    """Check torchvision's tv_tensors.Image (what transforms.v2 returns) arrives as a plain tensor with its values,
    requires_grad and grad, not as a handle."""
    from torchvision import tv_tensors

    image = tv_tensors.Image(torch.rand(1, 4, 4)).requires_grad_()
    image.grad = torch.ones(1, 4, 4)
    back = wire.loads(wire.dumps([image], encode_other=lambda v: wire.Handle(1, "other")))[0]
    assert type(back) is torch.Tensor and torch.equal(back, image.as_subclass(torch.Tensor).detach())
    assert back.requires_grad and torch.equal(back.grad, torch.ones(1, 4, 4))


@pytest.mark.parametrize("value", [torch.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3).t(),
                                   torch.nn.Parameter(torch.ones(3)), torch.zeros(0, 3), torch.tensor(2.0)])
def test_a_received_tensor_has_storage_of_its_own(value):
    """Check what arrives is no view (of the frame or of anything): `detach_()`, `set_()` and `resize_()` work on it
    and on its .grad, as torch's own Optimizer.zero_grad does (`p.grad.detach_()` then `p.grad.zero_()`)."""
    if value.is_floating_point() and value.is_leaf:
        value.requires_grad_(True)
        value.grad = torch.ones_like(value)
    back = roundtrip(value)
    for t in [back] + ([back.grad] if back.grad is not None else []):
        assert t._base is None and not t._is_view()
        assert t.untyped_storage().nbytes() == (wire._span(t) or 0) * t.element_size()
    if back.grad is not None:
        back.grad.detach_()
        back.grad.zero_()
        assert torch.equal(back.grad, torch.zeros_like(value))
    plain = back.detach()
    plain.resize_(plain.numel() + 3)  # its storage may grow, as a tensor made here may


def test_a_broadcast_view_is_counted_by_what_it_shows():
    """Check a zero-stride tensor (8 bytes of data) that shows more elements than a message may carry is refused
    before it is built, with a message that names the size, and one within the cap arrives with its strides."""
    tree = {"$tensor": {"dtype": "float32", "shape": [2**29], "stride": [0], "span": 1, "device": "cpu",
                        "requires_grad": False, "blob": 0}}
    frame = frame_with(tree, [b"\x00" * 4])
    assert len(frame) < 300
    with pytest.raises(wire.WireError, match="2,147,483,648 bytes"):
        wire.loads(frame, max_blobs=256 * 2**20)
    small = wire.loads(frame_with({**tree, "$tensor": {**tree["$tensor"], "shape": [1000]}}, [b"\x00" * 4]))
    assert small.shape == (1000,) and small.stride() == (0,)


def test_logical_sizes_add_up_over_a_message():
    """Check many tensors each under the cap are refused together once their logical sizes pass it (grads and
    arrays count too)."""
    one = {"$tensor": {"dtype": "float64", "shape": [64, 1024], "stride": [0, 0], "span": 1, "device": "cpu",
                       "requires_grad": False, "blob": 0}}
    frame = frame_with([one] * 5, [b"\x00" * 8])
    assert len(wire.loads(frame, max_blobs=3 * 2**20)) == 5
    with pytest.raises(wire.WireError, match="more than the 2,097,152 one message"):
        wire.loads(frame, max_blobs=2 * 2**20)
    array = {"$ndarray": {"dtype": "<f8", "shape": [300000], "blob": 0}}
    with pytest.raises(wire.WireError):
        wire.loads(frame_with(array, [b"\x00" * 8]), max_blobs=2 * 2**20)


def test_the_sender_refuses_what_the_receiver_would():
    """Check dumps(max_logical=...) refuses a broadcast view by what it shows (the student side's first refusal,
    which keeps its process), and sends it below the cap."""
    bomb = torch.zeros(2, 1).expand(2, 2**28)
    with pytest.raises(wire.WireError, match="2,147,483,648 bytes"):
        wire.dumps({"ok": bomb}, max_logical=wire.MAX_REPLY)
    assert len(wire.dumps(bomb)) < 1000  # without a cap: its 8 bytes and layout
    assert roundtrip(torch.zeros(2, 1).expand(2, 1000), max_blobs=wire.MAX_REPLY).shape == (2, 1000)
