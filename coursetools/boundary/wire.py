"""The wire format between the trusted side and the student process, both directions.

Only *data* crosses: None, bool, int, float, str, bytes, lists, tuples, dicts,
torch tensors (dtype, shape, strides, device type, requires_grad, grad and the raw
bytes), NumPy arrays and scalars, torch dtypes, devices and sizes. An object that
must stay where it was made (a model, a dataset, a loader, an optimizer) crosses as
a *handle*: a number the other side can only send back. Nothing is pickled, and a
decoder never builds an object of a type named by the peer: it builds tensors, arrays
and plain containers from an allow-list of dtypes, checking every size first.

A frame is `MAGIC, header length (u32), blob length (u64), header (JSON), blobs`;
the header is `{"msg": <tree>, "blobs": [lengths]}`. A malformed or oversized frame
raises `WireError` (the trusted side then fails the call with a clear message).

唯一的跨进程数据格式：只传数据（张量按类型、形状、步长、设备和字节传），对象以句柄传递；从不使用 pickle。
"""
import json
import math
import os
import select
import struct
import sys
import time

MAGIC = b"CRS1"
_PREFIX = struct.Struct("<4sIQ")
MAX_HEADER = 16 * 2**20  # bytes of JSON in one frame
MAX_BLOBS = 1 * 2**30  # bytes of tensor data in one frame
MAX_DEPTH = 64
MAX_ITEMS = 1_000_000  # values in one message
MAX_REPLY = 256 * 2**20  # bytes of tensor data a student's reply may stand for (a ResNet-18 state dict is 45 MB)

#: dtypes allowed across the boundary (torch name -> NumPy name where one exists)
TORCH_DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128", "uint8", "int8", "int16",
                "int32", "int64", "bool")
NUMPY_KINDS = "biufc"  # bool, int, uint, float, complex: no objects, strings or records


class WireError(ValueError):
    """A frame or value that does not follow the wire format (malformed, oversized, unknown type)."""


class Handle:
    """A reference to an object that stays in the student process (only its number crosses)."""

    __slots__ = ("id", "type", "mro", "repr")

    def __init__(self, id: int, type: str = "", mro=(), repr: str = ""):
        self.id, self.type, self.mro, self.repr = id, type, tuple(mro), repr

    def __repr__(self):  # in course words: the object's own repr, or its class (never this class's name)
        return self.repr or f"<{self.type.rsplit('.', 1)[-1] or 'object'}>"


# ------------------------------------------------------------------ frames


def dumps(message, encode_other=None, max_logical: int = None) -> bytes:
    """Encode `message` into one frame; `encode_other(value) -> Handle` for values that are not data.

    `max_logical`: refuse (WireError) tensors and arrays that stand for more bytes in all than this, counted as
    the receiver counts them (every element a tensor shows, zero strides included): the student side sends
    MAX_REPLY, so an honest oversized answer fails its test at once, with the process kept, instead of being
    refused by the receiver (which must then start a fresh student process)."""
    blobs = []
    tree = _Encoder(blobs, encode_other, max_logical).encode(message, 0)
    header = json.dumps({"msg": tree, "blobs": [len(b) for b in blobs]}, ensure_ascii=False,
                        allow_nan=False, separators=(",", ":")).encode("utf-8")
    total = sum(len(b) for b in blobs)
    if len(header) > MAX_HEADER or total > MAX_BLOBS:
        raise WireError(f"message too large ({len(header)} bytes of header, {total} bytes of data)")
    return b"".join([_PREFIX.pack(MAGIC, len(header), total), header, *blobs])  # the one copy of the data


def loads(frame: bytes, decode_handle=None, max_blobs: int = MAX_BLOBS):
    """Decode one frame; `decode_handle(Handle) -> object` resolves handles (default: keep Handle)."""
    view = memoryview(frame)
    if len(view) < _PREFIX.size:
        raise WireError("truncated frame")
    magic, header_len, total = _PREFIX.unpack_from(view)
    if magic != MAGIC or header_len > MAX_HEADER or total > max_blobs:
        raise WireError("not a frame of the course's wire format (bad magic or sizes)")
    if len(view) != _PREFIX.size + header_len + total:
        raise WireError("frame length does not match its header")
    try:
        header = json.loads(bytes(view[_PREFIX.size:_PREFIX.size + header_len]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise WireError(f"header is not JSON (or nested too deeply): {str(error)[:200]}") from None
    if not isinstance(header, dict) or not isinstance(header.get("blobs"), list) or "msg" not in header:
        raise WireError("header lacks msg or blobs")
    lengths = header["blobs"]
    if not all(isinstance(n, int) and n >= 0 for n in lengths) or sum(lengths) != total:
        raise WireError("blob lengths do not add up")
    blobs, start = [], _PREFIX.size + header_len
    for n in lengths:
        blobs.append(view[start:start + n])
        start += n
    return _Decoder(blobs, decode_handle, max_blobs).decode(header["msg"], 0)


def write_frame(fd: int, frame: bytes):
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view):]


def frame_size(buffer, max_blobs: int = MAX_BLOBS) -> int:
    """The whole size of the frame that `buffer` starts with (at least its 16-byte prefix); WireError if it is none."""
    magic, header_len, total = _PREFIX.unpack_from(buffer)
    if magic != MAGIC or header_len > MAX_HEADER or total > max_blobs:
        raise WireError("not a frame of the course's wire format (bad magic or sizes)")
    return _PREFIX.size + header_len + total


def take_frame(buffer: bytearray, max_blobs: int = MAX_BLOBS):
    """The first whole frame of `buffer`, removed from it; None while it holds less than a frame."""
    if len(buffer) < _PREFIX.size:
        return None
    size = frame_size(buffer, max_blobs)
    if len(buffer) < size:
        return None
    frame = bytes(memoryview(buffer)[:size])
    del buffer[:size]
    return frame


class Reader:
    """Reads frames from a file descriptor, optionally with a deadline (time.monotonic())."""

    def __init__(self, fd: int, max_blobs: int = MAX_BLOBS, on_idle=None):
        self.fd, self.max_blobs, self.buffer = fd, max_blobs, bytearray()
        self.on_idle = on_idle  # called with the fds that were ready besides ours (e.g. to drain output)

    def _fill(self, n: int, deadline, extra_fds):
        while len(self.buffer) < n:
            if deadline is not None or extra_fds:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select([self.fd, *extra_fds], [], [], timeout)
                others = [fd for fd in ready if fd != self.fd]
                if others and self.on_idle:
                    self.on_idle(others)
                if not ready and deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError
                if self.fd not in ready:
                    continue
            chunk = os.read(self.fd, max(1 << 16, min(n - len(self.buffer), 1 << 24)))
            if not chunk:
                raise EOFError
            self.buffer += chunk

    def read(self, deadline=None, extra_fds=()) -> bytes:
        self._fill(_PREFIX.size, deadline, extra_fds)
        size = frame_size(self.buffer, self.max_blobs)
        self._fill(size, deadline, extra_fds)
        if len(self.buffer) == size:  # the usual case: hand the buffer over, no copy of a large frame
            frame, self.buffer = self.buffer, bytearray()
        else:
            frame = bytes(memoryview(self.buffer)[:size])
            del self.buffer[:size]
        return frame


# ------------------------------------------------------------------ values


def _torch():
    import torch

    return torch


class _Encoder:
    def __init__(self, blobs, encode_other, max_logical=None):
        self.blobs, self.encode_other, self.count = blobs, encode_other, 0
        self.max_logical, self.logical = max_logical, 0

    def reserve(self, shape, itemsize, what):
        if self.max_logical is not None:
            self.logical += math.prod(shape) * itemsize
            if self.logical > self.max_logical:
                raise WireError(_too_large(what, shape, math.prod(shape) * itemsize, self.logical, self.max_logical))

    def blob(self, data) -> int:
        self.blobs.append(data)
        return len(self.blobs) - 1

    def encode(self, value, depth):
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_ITEMS:
            raise WireError("value nested too deeply or too large to send")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value if abs(value) < 2**63 else {"$bigint": str(value)}
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$float": repr(value)}
        if isinstance(value, Handle):
            return {"$ref": value.id}
        if isinstance(value, (list, tuple)):  # subclasses too (named tuples, torch.return_types): as their base
            if _is_torch_size(value):
                return {"$tuple": [int(v) for v in tuple.__iter__(value)]}
            base = list if isinstance(value, list) else tuple
            items = [self.encode(v, depth + 1) for v in base.__iter__(value)]
            return items if base is list else {"$tuple": items}
        if isinstance(value, dict):  # OrderedDict, defaultdict, ...: a dict, in the same order
            return {"$dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in dict.items(value)]}
        if isinstance(value, (bytes, bytearray)):
            return {"$bytes": self.blob(value if type(value) is bytes else bytes(value))}  # bytes: no copy here
        torch = _torch() if "torch" in sys.modules else None
        if torch is not None and isinstance(value, torch.Tensor) and value.layout == torch.strided:
            # subclasses (nn.Parameter, torchvision's tv_tensors, ...) cross as plain tensors
            return {"$tensor": self.tensor(value, depth)}
        module = type(value).__module__.split(".")[0]
        if module == "torch":
            if isinstance(value, torch.dtype):
                return {"$dtype": str(value).removeprefix("torch.")}
            if isinstance(value, torch.device):
                return {"$device": str(value)}
        if module == "numpy":
            import numpy as np

            if type(value) is np.ndarray and value.dtype.kind in NUMPY_KINDS:
                self.reserve(value.shape, value.dtype.itemsize, "an array")
                array = value if value.flags.c_contiguous else value.copy(order="C")
                return {"$ndarray": {"dtype": array.dtype.str, "shape": list(array.shape),
                                     "blob": self.blob(array.tobytes())}}
            if isinstance(value, np.generic) and value.dtype.kind in NUMPY_KINDS:
                return {"$npscalar": {"dtype": value.dtype.str, "blob": self.blob(value.tobytes())}}
        if self.encode_other is None:
            raise WireError(f"{type(value).__name__} cannot cross the boundary as data")
        handle = self.encode_other(value)
        return {"$handle": {"id": handle.id, "type": handle.type, "mro": list(handle.mro), "repr": handle.repr}}

    def tensor(self, t, depth):
        torch = _torch()
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in TORCH_DTYPES:
            raise WireError(f"tensors of dtype {t.dtype} cannot cross the boundary")
        plain = t.detach()  # the data alone; a subclass (tv_tensors.Image) as the plain tensor it holds
        if type(plain) is not torch.Tensor:
            plain = plain.as_subclass(torch.Tensor)
        spec = {"dtype": dtype, "shape": list(plain.shape), "stride": list(plain.stride()),
                "device": plain.device.type, "requires_grad": bool(t.requires_grad), "leaf": bool(t.is_leaf),
                "parameter": type(t) is torch.nn.Parameter, "blob": None, "grad": None}
        if plain.device.type != "meta":
            self.reserve(plain.shape, plain.element_size(), "a tensor")
            data = plain.to("cpu")
            span = _span(data)
            if not data.is_contiguous() and span is not None and span <= 4 * data.numel() + 64:
                # the memory the tensor spans, so its layout (permuted, sliced, broadcast) arrives as it is
                spec["span"] = span
                data = torch.as_strided(data, (span,), (1,), data.storage_offset()).clone()
            else:
                data = data.contiguous()
                spec["stride"] = list(data.stride())
            spec["blob"] = self.blob(memoryview(data.reshape(-1).view(torch.uint8).numpy()))  # dumps copies it once
        grad = t.grad if t.is_leaf else None
        if isinstance(grad, torch.Tensor) and grad.layout == torch.strided:
            spec["grad"] = self.tensor(grad, depth + 1)
        return spec


def _is_torch_size(value) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Size)


class _Decoder:
    def __init__(self, blobs, decode_handle, max_bytes=MAX_BLOBS):
        self.blobs, self.decode_handle, self.count = blobs, decode_handle, 0
        self.max_bytes, self.logical = max_bytes, 0  # tensor and array bytes as built, whatever their strides

    def reserve(self, shape, itemsize, what):
        """Count a value's logical size (every element it shows, broadcast or overlapping ones included) against
        the frame's cap, before anything of that size is built."""
        size = math.prod(shape) * itemsize
        self.logical += size
        if self.logical > self.max_bytes:
            raise WireError(_too_large(what, shape, size, self.logical, self.max_bytes))

    def decode(self, tree, depth):
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_ITEMS:
            raise WireError("value nested too deeply or too large")
        if tree is None or isinstance(tree, (bool, int, float, str)):
            return tree
        if isinstance(tree, list):
            return [self.decode(v, depth + 1) for v in tree]
        if not isinstance(tree, dict) or len(tree) != 1:
            raise WireError("malformed value")
        (tag, body), = tree.items()
        if tag == "$tuple" and isinstance(body, list):
            return tuple(self.decode(v, depth + 1) for v in body)
        if tag == "$dict" and isinstance(body, list):
            out = {}
            for pair in body:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise WireError("malformed dict")
                key = self.decode(pair[0], depth + 1)
                try:
                    out[key] = self.decode(pair[1], depth + 1)
                except TypeError:
                    raise WireError("unhashable dict key") from None
            return out
        if tag == "$float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "$bigint" and isinstance(body, str) and len(body) < 5000:
            try:
                return int(body)
            except ValueError:
                raise WireError("malformed integer") from None
        if tag == "$bytes":
            return bytes(self.blob(body))
        if tag == "$dtype" and body in TORCH_DTYPES:
            return getattr(_torch(), body)
        if tag == "$device" and isinstance(body, str) and len(body) < 40:
            try:
                return _torch().device(body)
            except (RuntimeError, ValueError):
                raise WireError(f"unknown device {body[:40]!r}") from None
        if tag == "$tensor" and isinstance(body, dict):
            return self.tensor(body, depth)
        if tag == "$ndarray" and isinstance(body, dict):
            return self.ndarray(body)
        if tag == "$npscalar" and isinstance(body, dict):
            return self.ndarray({**body, "shape": []})[()]
        if tag in ("$handle", "$ref"):
            handle = Handle(body) if tag == "$ref" else _handle(body)
            if not isinstance(handle.id, int):
                raise WireError("malformed handle")
            return handle if self.decode_handle is None else self.decode_handle(handle)
        raise WireError(f"unknown value tag {str(tag)[:40]!r}")

    def blob(self, index):
        if not isinstance(index, int) or not 0 <= index < len(self.blobs):
            raise WireError("reference to a missing blob")
        return self.blobs[index]

    def tensor(self, spec, depth, is_grad=False):
        torch = _torch()
        dtype, shape, stride = spec.get("dtype"), spec.get("shape"), spec.get("stride")
        if dtype not in TORCH_DTYPES or not _dims(shape) or not _dims(stride) or len(stride) != len(shape):
            raise WireError("malformed tensor")
        torch_dtype = getattr(torch, dtype)
        numel = math.prod(shape)
        device = spec.get("device")
        itemsize = _ITEMSIZE.get(dtype) or torch.empty((), dtype=torch_dtype).element_size()
        if device != "meta":  # a meta tensor holds no data: nothing to build
            self.reserve(shape, itemsize, "a tensor")
        if device == "meta":
            result = torch.empty(shape, dtype=torch_dtype, device="meta")
        else:
            data = self.blob(spec.get("blob"))
            span = spec.get("span")
            if span is not None:  # the spanned memory: rebuild the same layout over it
                if not isinstance(span, int) or isinstance(span, bool) or span != _span_of(shape, stride) \
                        or span > 4 * numel + 64 or len(data) != span * itemsize:
                    raise WireError("malformed strided tensor")
            elif len(data) != numel * itemsize:
                raise WireError(f"tensor data of {len(data)} bytes for shape {shape} of {dtype}")
            else:
                stride = _contiguous_strides(shape)
            result = _own_tensor(torch, data, shape, stride, torch_dtype)
            if device == "cuda" and torch.cuda.is_available():
                result = result.to("cuda")
        if spec.get("parameter"):
            result = torch.nn.Parameter(result, requires_grad=bool(spec.get("requires_grad")))
        elif spec.get("requires_grad") and (result.is_floating_point() or result.is_complex()):
            result.requires_grad_(True)
        if spec.get("grad") is not None:
            if is_grad or not isinstance(spec["grad"], dict):
                raise WireError("malformed gradient (a gradient of a gradient)")
            grad = self.tensor(spec["grad"], depth + 1, is_grad=True)
            if grad.shape == result.shape and grad.dtype == result.dtype and result.requires_grad:
                result.grad = grad.to(result.device)
        return result

    def ndarray(self, spec):
        import numpy as np

        dtype_name, shape = spec.get("dtype"), spec.get("shape")
        try:
            dtype = np.dtype(dtype_name) if isinstance(dtype_name, str) and len(dtype_name) < 8 else None
        except TypeError:
            dtype = None
        if dtype is None or dtype.kind not in NUMPY_KINDS or not _dims(shape):
            raise WireError("malformed array")
        self.reserve(shape, dtype.itemsize, "an array")
        data = self.blob(spec.get("blob"))
        if len(data) != math.prod(shape) * dtype.itemsize:
            raise WireError("array data does not match its shape")
        return np.frombuffer(bytes(data), dtype=dtype).reshape(shape).copy()


def _too_large(what, shape, size, total, most) -> str:
    also = "" if total == size else f" ({total:,} with the rest of the message)"
    return (f"{what} of shape {tuple(shape)} stands for {size:,} bytes{also}, more than the {most:,} one message "
            "may carry (zero strides count every element shown)")


_ITEMSIZE = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "complex64": 8, "complex128": 16, "uint8": 1,
             "int8": 1, "int16": 2, "int32": 4, "int64": 8, "bool": 1}


def _contiguous_strides(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.insert(0, step)
        step *= max(n, 1)
    return strides


def _own_tensor(torch, data, shape, stride, dtype):
    """A tensor with storage of its own (not a view of the frame, nor of anything else: `detach_()`, `set_()` and
    resizing work on it as on one made by the code that receives it), laid out as (shape, stride), holding `data`."""
    result = torch.empty_strided(shape, stride, dtype=dtype)
    if len(data):
        import warnings

        raw = torch.empty(0, dtype=torch.uint8).set_(result.untyped_storage())  # its bytes, to copy into
        with warnings.catch_warnings():  # "the buffer is not writable": it is only read from
            warnings.simplefilter("ignore", UserWarning)
            raw.copy_(torch.frombuffer(data, dtype=torch.uint8))
    return result


def _handle(body) -> Handle:
    if not isinstance(body, dict):
        raise WireError("malformed handle")
    mro = body.get("mro") or []
    if not isinstance(mro, list) or not all(isinstance(m, str) for m in mro):
        raise WireError("malformed handle")
    return Handle(body.get("id"), str(body.get("type", ""))[:200], [m[:200] for m in mro[:50]],
                  str(body.get("repr", ""))[:300])


def _dims(values) -> bool:
    return isinstance(values, list) and len(values) <= 16 and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**40 for v in values) and math.prod(values) < 2**34


def _span_of(shape, stride):
    """Elements of memory a layout reaches (non-negative strides), or None."""
    if any(s < 0 for s in stride):
        return None
    if any(n == 0 for n in shape):
        return 0
    return 1 + sum((n - 1) * s for n, s in zip(shape, stride))


def _span(t):
    return _span_of(list(t.shape), list(t.stride()))
