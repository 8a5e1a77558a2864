"""Tests for lesson 1, tensors. / 第 1 课（张量）的测试。"""
import re
from contextlib import contextmanager

import numpy as np
import pytest
import torch

from coursetools.checks.feedback import describe, describe_zh, fail, raised_at

pytestmark = [pytest.mark.lesson1, pytest.mark.rests_on("values")]


@pytest.fixture(scope="module")
def tensors(submission):
    """lesson1/tensors.py of the submission under test."""
    return submission.module("lesson1", "tensors")


def _expect_tensor(value, call, function=None, call_zh=None):
    if not isinstance(value, torch.Tensor):
        fail(en=f"{call} returned {describe(value)}, not a torch.Tensor.",
             zh=f"{call_zh or call} 返回了 {describe_zh(value)}，而不是 torch.Tensor。", function=function)


#: what torch says when code asks for CUDA on a machine (or a grading process) that cannot give it
_NO_CUDA = re.compile(r"CUDA|NVIDIA|cuda")


def _where(error, zh=False) -> str:
    """' (at <file>, line <n>: <code>)': the student's line an error was raised from, or ''."""
    return raised_at(error, kind=False)[1 if zh else 0]


def _raised(error, call, call_zh, name, pitfall=None, cuda_asked=False):
    """Fail for an error the submission's `name` raised during `call`: one line each language, the student's line.

    An error about CUDA from a call that did not ask for CUDA is a device hard-coded where a device was
    given: device-mismatch, whatever the machine or process said (its own words stay out of the message)."""
    if not cuda_asked and _NO_CUDA.search(str(error)):
        fail(en=f"{call} tried to use CUDA, which was not asked for (and is not available here){_where(error)}; "
             "expected only the device it was given.", zh=f"{call_zh} 试图使用 CUDA，但调用并没有要求 CUDA"
             f"（这里也没有 CUDA）{_where(error, True)}；应只使用传入的设备。",
             hint_en="use the device you are given: t.to(device); never hard-code .cuda().",
             hint_zh="使用传入的设备：t.to(device)；不要写死 .cuda()。", pitfall="device-mismatch", function=name)
    fail(en=f"{call} raised {type(error).__name__}: {str(error)[:300]}{_where(error)}",
         zh=f"{call_zh} 抛出 {type(error).__name__}{_where(error, True)}", pitfall=pitfall, function=name)


@contextmanager
def _student_call(call, call_zh, name, pitfall=None, cuda_asked=False):
    """An error raised inside the block (by the submission's `name`) fails the test through _raised."""
    try:
        yield
    except NotImplementedError:
        raise
    except Exception as error:
        _raised(error, call, call_zh, name, pitfall, cuda_asked)


def _call(tensors, name, call, *args, pitfall=None, call_zh=None):
    """Call the submission's `name`(*args); an error it raises fails the test with `call` named."""
    function = getattr(tensors, name)
    try:
        return function(*args)
    except NotImplementedError:
        raise
    except Exception as error:
        _raised(error, call, call_zh or call, name, pitfall, cuda_asked=any("cuda" in str(a) for a in args))


def test_scalar_tensor_is_0dim_float32(tensors):
    """Check that scalar_tensor(3) is a 0-dim float32 tensor holding 3.0."""
    result = _call(tensors, "scalar_tensor", "scalar_tensor(3)", 3)
    _expect_tensor(result, "scalar_tensor(3)")
    if result.shape != () or result.dtype != torch.float32 or result.item() != 3.0:
        fail(en=f"scalar_tensor(3) gave {describe(result)}; expected shape (), dtype torch.float32, value 3.0.",
             zh=f"scalar_tensor(3) 得到 {describe_zh(result)}；应为形状 ()、类型 torch.float32、值 3.0。",
             hint_en="torch.tensor(value, dtype=torch.float32) makes a 0-dim tensor.",
             hint_zh="torch.tensor(value, dtype=torch.float32) 会创建 0 维张量。")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("value", [-7, 0, 2.5, -0.125, 16777217])
def test_scalar_tensor_from_int_and_float_inputs(tensors, value):
    """Check scalar_tensor on ints and floats against torch.tensor(value, dtype=torch.float32)."""
    result = _call(tensors, "scalar_tensor", f"scalar_tensor({value!r})", value)
    _expect_tensor(result, f"scalar_tensor({value!r})")
    expected = torch.tensor(value, dtype=torch.float32)
    if result.shape != () or result.dtype != torch.float32 or not torch.equal(result.cpu(), expected):
        fail(en=f"scalar_tensor({value!r}) ({type(value).__name__} input) gave {describe(result)}; expected shape (), "
             "dtype torch.float32 holding the same number.",
             zh=f"scalar_tensor({value!r})（{type(value).__name__} 输入）得到 {describe_zh(result)}；应为形状 ()、类型 "
             "torch.float32、数值相同的张量。",
             hint_en="ints must become float32 too: torch.tensor(value, dtype=torch.float32).",
             hint_zh="整数也要变成 float32：torch.tensor(value, dtype=torch.float32)。")
### END HIDDEN TESTS


@pytest.mark.parametrize("values, dtype", [([1, 2, 3], torch.int64), ([0.5, 1.5], torch.float32)])
def test_vector_from_list_keeps_dtype(tensors, values, dtype):
    """Check that vector_from_list keeps ints as int64 and floats as float32."""
    result = _call(tensors, "vector_from_list", f"vector_from_list({values})", values)
    _expect_tensor(result, f"vector_from_list({values})")
    if result.dtype != dtype or result.tolist() != values:
        fail(en=f"vector_from_list({values}) gave {describe(result)}; expected dtype {dtype} and values {values} "
             f"(torch.tensor({values}).dtype is {dtype}).",
             zh=f"vector_from_list({values}) 得到 {describe_zh(result)}；应为类型 {dtype}、值 {values}。",
             pitfall="tensor-constructor-dtype" if dtype == torch.int64 and result.dtype.is_floating_point else None)


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("values", [[7], [-3, 0, 2**40], [0.1, -2.0, 3.5], [1, 2.5]],
                         ids=["one-int", "big-ints", "floats", "mixed"])
def test_vector_from_list_matches_torch_tensor(tensors, values):
    """Check vector_from_list on more lists against torch.tensor(values): 1-D, same dtype, same values."""
    result = _call(tensors, "vector_from_list", f"vector_from_list({values})", values)
    _expect_tensor(result, f"vector_from_list({values})")
    expected = torch.tensor(values)
    if result.shape != expected.shape or result.dtype != expected.dtype or not torch.equal(result.cpu(), expected):
        ints = all(isinstance(v, int) for v in values)
        fail(en=f"vector_from_list({values}) gave {describe(result)}; expected a 1-D tensor of dtype {expected.dtype} "
             f"with the same {len(values)} values (what torch.tensor({values}) gives).",
             zh=f"vector_from_list({values}) 得到 {describe_zh(result)}；应为类型 {expected.dtype}、含相同 {len(values)} "
             "个值的 1 维张量（即 torch.tensor 的结果）。",
             pitfall="tensor-constructor-dtype" if ints and result.dtype.is_floating_point else None)
### END HIDDEN TESTS


def _from_numpy(tensors, submission, array, call, write_array=None, write_tensor=None, call_zh=None):
    """matrix_from_numpy(array) called next to the student's code, which then writes through the array and/or
    the tensor (`(index, value)`) and reads the other side; returns (the result as returned, that report).

    The result is what the function answered when called from here, judged here. Shared memory cannot cross
    processes: the kit's probe repeats the call next to the student's code, and what it reads back (or gives) may
    only fail a test, never pass one.
    """
    result = _call(tensors, "matrix_from_numpy", call, array.copy(), call_zh=call_zh)
    _expect_tensor(result, call, "matrix_from_numpy", call_zh)
    with _student_call(call, call_zh or call, "matrix_from_numpy"):
        seen = submission.kit.share_probe(tensors.matrix_from_numpy, array, write_array, write_tensor)
    seen = seen if isinstance(seen, dict) else {}
    probed = seen.get("result")
    _expect_tensor(probed, call, "matrix_from_numpy", call_zh)
    return result, seen


def _expect_array_data(result, original, call, call_zh=None):
    """The tensor must hold the array's shape, dtype (what torch.from_numpy gives) and values."""
    expected = torch.from_numpy(original)
    if result.shape != expected.shape or result.dtype != expected.dtype \
            or not torch.equal(result.detach().cpu(), expected):
        fail(en=f"{call} gave {describe(result)}; expected shape {tuple(expected.shape)}, dtype {expected.dtype} and "
             "the array's values.", zh=f"{call_zh or call} 得到 {describe_zh(result)}；应为形状 {tuple(expected.shape)}、类型 "
             f"{expected.dtype}、与数组相同的值。", hint_en="torch.from_numpy(array) keeps the dtype and the values.",
             hint_zh="torch.from_numpy(array) 保留类型和数值。", function="matrix_from_numpy")


def test_matrix_from_numpy_shares_memory(tensors, submission):
    """Check that matrix_from_numpy keeps the array's data and that the tensor changes when the array changes."""
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    original = array.copy()
    result, seen = _from_numpy(tensors, submission, array, "matrix_from_numpy(array)", write_array=((0, 0), 42.0))
    _expect_array_data(result, original, "matrix_from_numpy(a (2, 3) float32 array)",
                       "matrix_from_numpy(一个 (2, 3) float32 数组)")
    if seen.get("tensor_reads") != 42.0:
        fail(en=f"after array[0, 0] = 42 the tensor holds {seen.get('tensor_reads')} at [0, 0]; expected it to share "
             "memory with the array (value 42 at [0, 0]).",
             zh=f"执行 array[0, 0] = 42 后张量 [0, 0] 处为 {seen.get('tensor_reads')}；应与数组共享内存（[0, 0] 处为 42）。",
             hint_en="torch.from_numpy(array) wraps the array without copying; torch.tensor(array) copies.",
             hint_zh="torch.from_numpy(array) 不复制地包装数组；torch.tensor(array) 会复制。", function="matrix_from_numpy")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.uint8], ids=lambda d: d.__name__)
def test_matrix_from_numpy_shares_memory_both_ways_for_each_dtype(tensors, submission, dtype):
    """Check dtype, shape, values and shared memory (array -> tensor and tensor -> array) for several dtypes."""
    array = (np.arange(12) % 7).astype(dtype).reshape(3, 4)
    original = array.copy()
    call = f"matrix_from_numpy(a {dtype.__name__} array of shape (3, 4))"
    call_zh = f"matrix_from_numpy(形状为 (3, 4) 的 {dtype.__name__} 数组)"
    result, seen = _from_numpy(tensors, submission, array, call, write_array=((2, 3), 5), write_tensor=((0, 1), 6),
                               call_zh=call_zh)
    _expect_array_data(result, original, call, call_zh)
    if seen.get("tensor_reads") != 5 or seen.get("array_reads") != 6:
        fail(en=f"{call}: after array[2, 3] = 5 and tensor[0, 1] = 6 the tensor holds {seen.get('tensor_reads')} at "
             f"[2, 3] and the array {seen.get('array_reads')} at [0, 1]; expected both to see both changes (one "
             "shared memory).", zh=f"{call_zh}：执行 array[2, 3] = 5 和 tensor[0, 1] = 6 之后，张量 [2, 3] 处为 "
             f"{seen.get('tensor_reads')}，数组 [0, 1] 处为 {seen.get('array_reads')}；两者应共享同一块内存，互相看到修改。",
             hint_en="torch.from_numpy(array) (or torch.as_tensor) wraps the array without copying; do not convert "
             "the dtype.", hint_zh="torch.from_numpy(array)（或 torch.as_tensor）不复制地包装数组；不要转换数据类型。",
             function="matrix_from_numpy")
### END HIDDEN TESTS


@pytest.mark.parametrize("kind", ["zeros", "ones", "rand"])
def test_filled_makes_float32_of_shape(tensors, kind):
    """Check filled(shape, kind) for each allowed kind."""
    result = _call(tensors, "filled", f"filled((2, 3), {kind!r})", (2, 3), kind)
    _expect_tensor(result, f"filled((2, 3), {kind!r})")
    right_values = {"zeros": bool((result == 0).all()), "ones": bool((result == 1).all()),
                    "rand": bool(((result >= 0) & (result < 1)).all())}[kind] if result.shape == (2, 3) else False
    if result.dtype != torch.float32 or not right_values:
        fail(en=f"filled((2, 3), {kind!r}) gave {describe(result)}; expected float32 of shape (2, 3) filled by "
             f"torch.{kind}.", zh=f"filled((2, 3), {kind!r}) 得到 {describe_zh(result)}；应为用 torch.{kind} "
             "填充的 (2, 3) float32 张量。")


def _expect_value_error(tensors, kind):
    """Call filled((2, 2), kind) and fail unless it raises ValueError naming the three allowed kinds."""
    try:
        result = tensors.filled((2, 2), kind)
    except ValueError as error:
        if not all(name in str(error) for name in ("zeros", "ones", "rand")):
            fail(en=f"filled((2, 2), {kind!r}) raised ValueError({str(error)[:100]!r}); expected the message to name "
                 "the allowed kinds zeros, ones, rand.", zh=f"filled((2, 2), {kind!r}) 抛出 "
                 f"ValueError({str(error)[:100]!r})；错误信息应列出允许的取值 zeros、ones、rand。")
        return
    except NotImplementedError:
        raise
    except Exception as error:
        fail(en=f"filled((2, 2), {kind!r}) raised {type(error).__name__}: {str(error)[:100]}; expected ValueError "
             "naming the allowed kinds.", zh=f"filled((2, 2), {kind!r}) 抛出 {type(error).__name__}；"
             "应抛出列出允许取值的 ValueError。", hint_en="raise ValueError(f\"kind must be one of zeros, ones, rand, "
             "got {kind!r}\").", hint_zh="raise ValueError(...) 并在信息中列出 zeros、ones、rand。")
    fail(en=f"filled((2, 2), {kind!r}) returned {describe(result)}; expected ValueError naming the allowed kinds "
         "zeros, ones, rand.", zh=f"filled((2, 2), {kind!r}) 返回了 {describe_zh(result)}；应抛出列出 "
         "zeros、ones、rand 的 ValueError。", hint_en="check `kind` against the three allowed names before building "
         "anything.", hint_zh="先检查 `kind` 是否为三个允许的名字之一。")


def test_filled_rejects_unknown_kind(tensors):
    """Check that an unknown kind raises ValueError naming the allowed kinds."""
    _expect_value_error(tensors, "twos")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), (1, 1)])
@pytest.mark.parametrize("kind", ["zeros", "ones", "rand"])
def test_filled_other_shapes(tensors, shape, kind):
    """Check filled for 1-D, 3-D and 1x1 shapes: float32, the shape asked for, the right values."""
    result = _call(tensors, "filled", f"filled({shape}, {kind!r})", shape, kind)
    _expect_tensor(result, f"filled({shape}, {kind!r})")
    good = result.dtype == torch.float32 and tuple(result.shape) == shape and {
        "zeros": lambda r: bool((r == 0).all()), "ones": lambda r: bool((r == 1).all()),
        "rand": lambda r: bool(((r >= 0) & (r < 1)).all())}[kind](result)
    if not good:
        fail(en=f"filled({shape}, {kind!r}) gave {describe(result)}; expected float32 of shape {shape} filled by "
             f"torch.{kind}.", zh=f"filled({shape}, {kind!r}) 得到 {describe_zh(result)}；应为用 torch.{kind} "
             f"填充、形状为 {shape} 的 float32 张量。", hint_en="pass the shape on: torch.zeros(shape), "
             "torch.ones(shape), torch.rand(shape).",
             hint_zh="把形状原样传下去：torch.zeros(shape)、torch.ones(shape)、torch.rand(shape)。")


def test_filled_rand_is_uniform_in_0_1(tensors):
    """Check that filled(..., "rand") draws fresh uniform numbers in [0, 1), not a constant."""
    result = _call(tensors, "filled", "filled((100, 100), 'rand')", (100, 100), "rand")
    _expect_tensor(result, "filled((100, 100), 'rand')")
    ok = tuple(result.shape) == (100, 100) and result.dtype == torch.float32
    if ok:
        values = result.detach().cpu()
        ok = bool(((values >= 0) & (values < 1)).all()) and 0.45 < values.mean().item() < 0.55 \
            and 0.25 < values.std().item() < 0.33 and len(torch.unique(values)) > 9000
    if not ok:
        fail(en=f"filled((100, 100), 'rand') gave {describe(result)}; expected float32 numbers drawn uniformly from "
             "[0, 1) (mean near 0.5, nearly all different).",
             zh=f"filled((100, 100), 'rand') 得到 {describe_zh(result)}；应为在 [0, 1) 上均匀抽取的 float32 数"
             "（均值约 0.5，几乎各不相同）。", hint_en="torch.rand(shape) draws uniform numbers in [0, 1).",
             hint_zh="torch.rand(shape) 在 [0, 1) 上均匀抽样。")


@pytest.mark.parametrize("kind", ["Zeros", "", "full", "randn"])
def test_filled_rejects_other_kinds(tensors, kind):
    """Check that any kind other than the three raises ValueError naming the allowed kinds."""
    _expect_value_error(tensors, kind)
### END HIDDEN TESTS


def _check_flatten(tensors, images, what, what_zh):
    """flatten_images(images) must equal images.reshape(N, 784) and leave `images` alone.

    Tensors cross to the student's side with their strides, so a transposed, sliced or
    broadcast input arrives as it is here. When it fails on a non-contiguous input but works
    on the same pixels in contiguous memory, the diagnosis is the `view` pitfall.
    """
    n, before = len(images), images.clone()
    expected = before.reshape(n, 784)
    try:
        result, error = tensors.flatten_images(images), None
    except NotImplementedError:
        raise
    except Exception as raised:
        result, error = None, raised
    if error is None and isinstance(result, torch.Tensor) and tuple(result.shape) == (n, 784) \
            and torch.equal(result.cpu(), expected) and torch.equal(images, before):
        return
    fine_when_contiguous = False
    if not images.is_contiguous():  # the same pixels in contiguous memory: does only the layout make it fail?
        try:
            fine_when_contiguous = torch.equal(tensors.flatten_images(before.contiguous()).cpu(), expected)
        except Exception:
            pass
    got = f"raised {type(error).__name__}: {str(error)[:200].rstrip('.')}{_where(error)}" if error is not None \
        else f"gave {describe(result)}"
    got_zh = f"抛出 {type(error).__name__}{_where(error, True)}" if error is not None else f"得到 {describe_zh(result)}"
    layout = f"shape {tuple(images.shape)}" if images.is_contiguous() else \
        f"shape {tuple(images.shape)} and strides {images.stride()} (not contiguous)"
    layout_zh = f"形状 {tuple(images.shape)}" if images.is_contiguous() else \
        f"形状 {tuple(images.shape)}、步长 {images.stride()}，内存不连续"
    hints = {} if fine_when_contiguous else dict(
        hint_en="keep the batch dimension, whatever its size, and flatten the rest: images.reshape(len(images), -1).",
        hint_zh="保留批次维度（无论大小），展平其余维度：images.reshape(len(images), -1)。")
    fail(en=f"{what} of {layout} {got}; expected shape ({n}, 784) holding the pixels in order, the input left as it "
         f"was{' (the same pixels in contiguous memory work)' if fine_when_contiguous else ''}.",
         zh=f"{what_zh}（{layout_zh}）{got_zh}；应为按顺序排列像素的 ({n}, 784)，且不修改输入"
         f"{'（同样的像素放在连续内存中时是对的）' if fine_when_contiguous else ''}。", **hints,
         pitfall="view-non-contiguous" if fine_when_contiguous else None, function="flatten_images")


@pytest.mark.parametrize("shape", [(5, 28, 28), (5, 1, 28, 28), (1, 28, 28)])
def test_flatten_images_gives_n_by_784(tensors, shape):
    """Check that flatten_images keeps the batch dimension and flattens the rest."""
    _check_flatten(tensors, torch.randn(shape, generator=torch.Generator().manual_seed(0)), "an input", "输入")


def test_flatten_images_accepts_non_contiguous_input(tensors):
    """Check that flatten_images works on a transposed (non-contiguous) batch."""
    images = torch.randn(4, 28, 28, generator=torch.Generator().manual_seed(1)).transpose(1, 2)
    _check_flatten(tensors, images, "a transposed input", "转置后的输入")


### BEGIN HIDDEN TESTS
def _strided_batch(layout: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return {
        "transposed-4d": lambda: torch.randn(3, 1, 28, 28, generator=g).transpose(2, 3),
        "one-image-transposed": lambda: torch.randn(1, 28, 28, generator=g).transpose(1, 2),
        "batch-last": lambda: torch.randn(28, 28, 6, generator=g).permute(2, 0, 1),
        "every-other-image": lambda: torch.randn(8, 1, 28, 28, generator=g)[::2],
        "broadcast": lambda: torch.randn(1, 28, 28, generator=g).expand(5, 28, 28),
    }[layout]()


@pytest.mark.parametrize("layout", ["transposed-4d", "one-image-transposed", "batch-last", "every-other-image",
                                    "broadcast"])
def test_flatten_images_on_other_memory_layouts(tensors, layout):
    """Check flatten_images on strided inputs; a failure only the memory layout causes is the view pitfall."""
    _check_flatten(tensors, _strided_batch(layout), f"a {layout} input", f"{layout} 输入")


@pytest.mark.parametrize("shape", [(64, 1, 28, 28), (2, 28, 28), (1, 1, 28, 28)])
def test_flatten_images_on_more_batch_sizes(tensors, shape):
    """Check flatten_images on contiguous batches of several sizes, including a single image."""
    _check_flatten(tensors, torch.randn(shape, generator=torch.Generator().manual_seed(4)), "an input", "输入")
### END HIDDEN TESTS


def test_add_channel_dim_inserts_dim_1(tensors):
    """Check that add_channel_dim turns (N, H, W) into (N, 1, H, W)."""
    images = torch.rand(3, 28, 28)
    before = images.clone()
    result = _call(tensors, "add_channel_dim", "add_channel_dim(input of shape (3, 28, 28))", images,
                   call_zh="add_channel_dim(形状为 (3, 28, 28) 的输入)")
    _expect_tensor(result, "add_channel_dim(input of shape (3, 28, 28))", call_zh="add_channel_dim(形状为 (3, 28, 28) 的输入)")
    if tuple(result.shape) != (3, 1, 28, 28):
        fail(en=f"input shape (3, 28, 28) gave {describe(result)}; expected (3, 1, 28, 28).",
             zh=f"输入形状 (3, 28, 28) 得到 {describe_zh(result)}；应为 (3, 1, 28, 28)。", pitfall="missing-channel-dim")
    if not torch.equal(result[:, 0].cpu(), before):
        fail(en=f"input shape (3, 28, 28) gave {describe(result)}: the right shape, but result[:, 0] is not the input "
             "image.", zh=f"输入形状 (3, 28, 28) 得到 {describe_zh(result)}：形状对了，但 result[:, 0] 不是输入图像。",
             hint_en="insert a dimension without moving the pixels: images.unsqueeze(1).",
             hint_zh="插入一个维度而不移动像素：images.unsqueeze(1)。")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("shape", [(1, 28, 28), (2, 5, 7), (6, 1, 3)])
def test_add_channel_dim_on_other_shapes(tensors, shape):
    """Check add_channel_dim on one image, non-square images and H = 1: (N, 1, H, W), same pixels, input untouched."""
    images = torch.randn(shape, generator=torch.Generator().manual_seed(5))
    before = images.clone()
    result = _call(tensors, "add_channel_dim", f"add_channel_dim(input of shape {shape})", images,
                   call_zh=f"add_channel_dim(形状为 {shape} 的输入)")
    _expect_tensor(result, f"add_channel_dim(input of shape {shape})", call_zh=f"add_channel_dim(形状为 {shape} 的输入)")
    n, h, w = shape
    if tuple(result.shape) != (n, 1, h, w):
        fail(en=f"input shape {shape} gave {describe(result)}; expected ({n}, 1, {h}, {w}).",
             zh=f"输入形状 {shape} 得到 {describe_zh(result)}；应为 ({n}, 1, {h}, {w})。", pitfall="missing-channel-dim")
    if not torch.equal(result[:, 0].cpu(), before) or not torch.equal(images, before):
        fail(en=f"input shape {shape} gave {describe(result)}: the right shape, but the pixels moved or the input "
             "changed.", zh=f"输入形状 {shape} 得到 {describe_zh(result)}：形状对了，但像素位置变了或输入被修改了。",
             hint_en="images.unsqueeze(1) inserts the channel dimension and copies nothing.",
             hint_zh="images.unsqueeze(1) 插入通道维度，不复制也不修改数据。")
### END HIDDEN TESTS


def test_multiply_gives_elementwise_and_matrix_product(tensors):
    """Check multiply(a, b) against a * b and a @ b."""
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(3, 3, generator=g), torch.randn(3, 3, generator=g)
    result = _call(tensors, "multiply", "multiply(a, b) on 3x3 matrices", a.clone(), b.clone(),
                   call_zh="对 3x3 矩阵调用 multiply(a, b)")
    if not (isinstance(result, tuple) and len(result) == 2 and all(isinstance(r, torch.Tensor) for r in result)):
        fail(en=f"multiply(a, b) returned {describe(result)}; expected a tuple of two tensors.",
             zh=f"multiply(a, b) 返回了 {describe_zh(result)}；应为两个张量组成的元组。")
    elementwise, matrix = result
    if elementwise.shape != a.shape or matrix.shape != a.shape or not torch.allclose(elementwise.cpu(), a * b) \
            or not torch.allclose(matrix.cpu(), a @ b):
        fail(en=f"multiply(a, b) on 3x3 matrices gave ({describe(elementwise)}), ({describe(matrix)}); expected "
             "(a * b, a @ b).", zh=f"对 3x3 矩阵调用 multiply(a, b) 得到 ({describe_zh(elementwise)})、"
             f"({describe_zh(matrix)})；应为 (a * b, a @ b)。",
             hint_en="* multiplies element by element, @ (torch.matmul) is the matrix product.",
             hint_zh="* 是逐元素相乘，@（torch.matmul）是矩阵乘法。")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("size, dtype", [(1, torch.float32), (4, torch.float32), (5, torch.float64), (2, torch.int64)])
def test_multiply_on_other_sizes_and_dtypes(tensors, size, dtype):
    """Check multiply on 1x1, 4x4, float64 and int64 matrices: shapes, dtypes, values, inputs untouched."""
    g = torch.Generator().manual_seed(6)
    a = (torch.randn(size, size, generator=g) * 4).to(dtype)
    b = (torch.randn(size, size, generator=g) * 4).to(dtype)
    a_before, b_before = a.clone(), b.clone()
    call = f"multiply(a, b) on {size}x{size} {dtype} matrices"
    call_zh = f"对 {size}x{size} 的 {dtype} 矩阵调用 multiply(a, b)"
    result = _call(tensors, "multiply", call, a, b, call_zh=call_zh)
    if not (isinstance(result, tuple) and len(result) == 2 and all(isinstance(r, torch.Tensor) for r in result)):
        fail(en=f"{call} returned {describe(result)}; expected a tuple of two tensors.",
             zh=f"{call_zh} 返回了 {describe_zh(result)}；应为两个张量组成的元组。")
    problems, problems_zh = [], []
    for label, label_zh, got, want in (("elementwise", "逐元素积", result[0], a_before * b_before),
                                       ("matrix", "矩阵积", result[1], a_before @ b_before)):
        if got.shape != want.shape or got.dtype != want.dtype or not torch.allclose(got.cpu(), want):
            problems.append(f"{label} product {describe(got)}")
            problems_zh.append(f"{label_zh}为 {describe_zh(got)}")
    if not torch.equal(a, a_before) or not torch.equal(b, b_before):  # what the call did to a and b comes back
        problems.append("a or b changed in place")
        problems_zh.append("a 或 b 被原地修改")
    if problems:
        fail(en=f"{call}: {'; '.join(problems)}; expected (a * b, a @ b), both {size}x{size} of dtype {dtype}, with "
             "a and b left as they were.", zh=f"{call_zh}：{'；'.join(problems_zh)}；应为 (a * b, a @ b)，"
             f"均为 {size}x{size}、类型 {dtype}，且不修改 a 和 b。",
             hint_en="* multiplies element by element, @ (torch.matmul) is the matrix product; avoid in-place mul_.",
             hint_zh="* 是逐元素相乘，@（torch.matmul）是矩阵乘法；不要用原地的 mul_。")
### END HIDDEN TESTS


def test_to_device_keeps_values_on_cpu(tensors):
    """Check that to_device(t, "cpu") keeps the values on the CPU."""
    t = torch.arange(4.0)
    result = _call(tensors, "to_device", "to_device(t, 'cpu')", t, "cpu")
    _expect_tensor(result, "to_device(t, 'cpu')")
    if result.device.type != "cpu" or not torch.equal(result.cpu(), torch.arange(4.0)):
        fail(en=f"to_device(t, 'cpu') gave {describe(result)}; expected the values [0, 1, 2, 3] on cpu.",
             zh=f"to_device(t, 'cpu') 得到 {describe_zh(result)}；应为 cpu 上的 [0, 1, 2, 3]。",
             hint_en="use the device you are given: t.to(device); never hard-code .cuda()." if result.device.type != "cpu"
             else "", hint_zh="使用传入的设备：t.to(device)；不要写死 .cuda()。" if result.device.type != "cpu" else "",
             pitfall="device-mismatch" if result.device.type != "cpu" else None)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_to_device_moves_to_cuda(tensors):
    """Check that to_device moves a tensor to CUDA when asked, values unchanged."""
    result = _call(tensors, "to_device", "to_device(t, 'cuda')", torch.arange(4.0), "cuda",
                   pitfall="device-mismatch")
    _expect_tensor(result, "to_device(t, 'cuda')")
    if result.device.type != "cuda" or not torch.equal(result.cpu(), torch.arange(4.0)):
        fail(en=f"to_device(t, 'cuda') gave {describe(result)}; expected the values [0, 1, 2, 3] on cuda.",
             zh=f"to_device(t, 'cuda') 得到 {describe_zh(result)}；应为 cuda 上的 [0, 1, 2, 3]。", pitfall="device-mismatch")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("device", ["meta", torch.device("meta")], ids=["str", "torch.device"])
def test_to_device_honours_the_device_it_is_given(tensors, device):
    """Check that to_device puts the tensor on the device asked for (the meta device: any machine has it)."""
    t = torch.arange(6.0).reshape(2, 3)
    result = _call(tensors, "to_device", f"to_device(t, {device!r})", t, device, pitfall="device-mismatch")
    _expect_tensor(result, f"to_device(t, {device!r})")
    if result.device.type != "meta" or result.shape != t.shape or result.dtype != t.dtype:
        fail(en=f"to_device(a (2, 3) float32 tensor, {device!r}) gave {describe(result)}; expected a (2, 3) float32 "
             "tensor on the meta device.", zh=f"to_device(一个 (2, 3) float32 张量, {device!r}) 得到 "
             f"{describe_zh(result)}；应为 meta 设备上的 (2, 3) float32 张量。",
             hint_en="use the device you are given: t.to(device); never ignore it or hard-code 'cpu' or .cuda().",
             hint_zh="使用传入的设备：t.to(device)；不要忽略它，也不要写死 'cpu' 或 .cuda()。", pitfall="device-mismatch")
    if not torch.equal(t, torch.arange(6.0).reshape(2, 3)):  # what the call did to t comes back
        fail(en="to_device(t, 'meta') changed the caller's tensor t; expected t to stay as it was.",
             zh="to_device(t, 'meta') 修改了调用者的张量 t；t 应保持不变。", hint_en="return t.to(device) instead of "
             "changing t.", hint_zh="返回 t.to(device)，不要修改 t。")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_to_device_round_trips_through_cuda(tensors):
    """Check that to_device to CUDA and back keeps shape, dtype and values."""
    t = torch.randn(3, 4, generator=torch.Generator().manual_seed(7))
    on_gpu = _call(tensors, "to_device", "to_device(t, torch.device('cuda'))", t.clone(), torch.device("cuda"),
                   pitfall="device-mismatch")
    _expect_tensor(on_gpu, "to_device(t, torch.device('cuda'))")
    back = _call(tensors, "to_device", "to_device(t, 'cpu')", on_gpu, "cpu") if on_gpu.device.type == "cuda" else on_gpu
    _expect_tensor(back, "to_device(t, 'cpu')")
    if on_gpu.device.type != "cuda" or not torch.equal(on_gpu.cpu(), t) or back.device.type != "cpu" \
            or not torch.equal(back, t):
        fail(en=f"to cuda gave {describe(on_gpu)} and back to cpu gave {describe(back)}; expected the same (3, 4) "
             "values on cuda, then on cpu.", zh=f"移到 cuda 得到 {describe_zh(on_gpu)}，移回 cpu 得到 {describe_zh(back)}；"
             "应先在 cuda、再在 cpu 上得到相同的 (3, 4) 数值。", pitfall="device-mismatch")
### END HIDDEN TESTS


def test_to_numpy_works_on_tensor_that_requires_grad(tensors):
    """Check that to_numpy works on a tensor that requires grad."""
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    result = _call(tensors, "to_numpy", "to_numpy on a tensor with requires_grad=True", t,
                   pitfall="numpy-on-grad-or-cuda", call_zh="对 requires_grad=True 的张量调用 to_numpy")
    if not isinstance(result, np.ndarray) or result.shape != (2,) or result.tolist() != [1.0, 2.0]:
        fail(en=f"to_numpy(tensor([1., 2.], requires_grad=True)) returned {describe(result)}; expected the NumPy "
             "array [1., 2.].", zh=f"to_numpy 返回了 {describe_zh(result)}；应为 NumPy 数组 [1., 2.]。")


def _to_numpy_here(tensors, t, expected, call, wanted):
    """to_numpy(t) called from here (the answer judged here): a NumPy array equal to `expected`, else the test fails.
    `call` and `wanted` are (English, Chinese)."""
    got = _call(tensors, "to_numpy", call[0], t, pitfall="numpy-on-grad-or-cuda", call_zh=call[1])
    if not isinstance(got, np.ndarray) or got.shape != expected.shape or not np.array_equal(got, expected):
        fail(en=f"{call[0]} returned {describe(got)}; expected {wanted[0]}.",
             zh=f"{call[1]} 返回了 {describe_zh(got)}；应为{wanted[1]}。", function="to_numpy")


@pytest.mark.parametrize("requires_grad", [True, False], ids=["requires-grad", "no-grad"])
def test_to_numpy_works_on_a_non_cpu_tensor(tensors, submission, requires_grad):
    """Check to_numpy on a tensor that is not on the CPU (the kit's meta-device stand-in for CUDA)."""
    data = torch.tensor([[1.5, -2.0, 3.25], [0.0, 7.0, 8.5]], requires_grad=requires_grad)
    expected = data.detach().clone().numpy()
    # the answer judged here: the same call on a CPU tensor made here; the non-CPU call below may only fail the test
    _to_numpy_here(tensors, data.detach().clone().requires_grad_(requires_grad), expected,
                   (f"to_numpy on a (2, 3) tensor (requires_grad={requires_grad})",
                    f"对 (2, 3) 张量（requires_grad={requires_grad}）调用 to_numpy"),
                   ("a (2, 3) NumPy array of its values", "含其数值的 (2, 3) NumPy 数组"))
    with _student_call(f"to_numpy on a (2, 3) tensor on a non-CPU device (requires_grad={requires_grad})",
                       f"对非 CPU 设备上的 (2, 3) 张量（requires_grad={requires_grad}）调用 to_numpy", "to_numpy",
                       pitfall="numpy-on-grad-or-cuda", cuda_asked=True):
        result = submission.kit.call_on_non_cpu(tensors.to_numpy, data)
    if not isinstance(result, np.ndarray) or result.shape != (2, 3) or not np.array_equal(result, expected):
        fail(en=f"to_numpy on a (2, 3) tensor on a non-CPU device returned {describe(result)}; expected a (2, 3) NumPy "
             "array of its values.", zh=f"对非 CPU 设备上的 (2, 3) 张量，to_numpy 返回了 {describe_zh(result)}；应为含其"
             "数值的 (2, 3) NumPy 数组。", function="to_numpy")


### BEGIN HIDDEN TESTS
@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("requires_grad", [True, False], ids=["requires-grad", "no-grad"])
def test_to_numpy_works_on_a_cuda_tensor(tensors, requires_grad):
    """Check to_numpy on a real CUDA tensor, with and without requires_grad."""
    data = torch.tensor([[1.5, -2.0, 3.25], [0.0, 7.0, 8.5]])
    t = data.cuda().requires_grad_(requires_grad)
    result = _call(tensors, "to_numpy", f"to_numpy on a CUDA tensor (requires_grad={requires_grad})", t,
                   pitfall="numpy-on-grad-or-cuda", call_zh=f"对 CUDA 张量（requires_grad={requires_grad}）调用 to_numpy")
    if not isinstance(result, np.ndarray) or result.shape != (2, 3) or not np.array_equal(result, data.numpy()):
        fail(en=f"to_numpy on a (2, 3) CUDA tensor returned {describe(result)}; expected a (2, 3) NumPy array of its "
             "values.", zh=f"对 (2, 3) 的 CUDA 张量，to_numpy 返回了 {describe_zh(result)}；应为含其数值的 (2, 3) NumPy 数组。")


@pytest.mark.parametrize("make", [lambda: torch.tensor(2.5), lambda: torch.arange(6).reshape(2, 3),
                                  lambda: torch.linspace(-1, 1, 5, dtype=torch.float64)],
                         ids=["0-dim", "int64-matrix", "float64"])
def test_to_numpy_values_and_shape(tensors, make):
    """Check to_numpy on a 0-dim tensor, an int64 matrix and a float64 vector: same shape, dtype and values."""
    t = make()
    expected = t.clone().numpy()
    result = _call(tensors, "to_numpy", f"to_numpy({describe(t)})", t, call_zh=f"to_numpy({describe_zh(t)})")
    if not isinstance(result, np.ndarray) or result.shape != expected.shape or result.dtype != expected.dtype \
            or not np.array_equal(result, expected):
        fail(en=f"to_numpy({describe(t)}) returned {describe(result)}; expected a NumPy array of shape "
             f"{expected.shape} and dtype {expected.dtype} with the same values.", zh=f"to_numpy({describe_zh(t)}) 返回了 "
             f"{describe_zh(result)}；应为形状 {expected.shape}、类型 {expected.dtype}、数值相同的 NumPy 数组。",
             hint_en="t.detach().cpu().numpy() keeps shape, dtype and values.",
             hint_zh="t.detach().cpu().numpy() 保留形状、类型和数值。")


def test_to_numpy_leaves_the_graph_alone(tensors, submission):
    """Check that to_numpy on an intermediate result keeps it in the graph: backward still works afterwards."""
    w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    expected = (w * 2).detach().numpy()
    # the answer judged here: to_numpy of y's values, requiring grad, called from here (y arrives as a leaf); the graph
    # lives only next to the student's code, so what the kit reports about it below may only fail the test
    _to_numpy_here(tensors, (w * 2).detach().requires_grad_(True), expected,
                   ("to_numpy(y) with y = w * 2", "对 y = w * 2 调用 to_numpy(y)"),
                   ("y's values as a NumPy array", "含 y 数值的 NumPy 数组"))
    with _student_call("to_numpy(y) with y = w * 2 in the graph", "对计算图中的 y = w * 2 调用 to_numpy(y)",
                       "to_numpy", pitfall="numpy-on-grad-or-cuda"):
        seen = submission.kit.call_mid_graph(tensors.to_numpy, w, 2.0)  # y is built and backward runs there
    result = seen.get("result") if isinstance(seen, dict) else seen
    problem = None
    if not isinstance(result, np.ndarray) or result.shape != (3,) or not np.array_equal(result, expected):
        problem = (f"it returned {describe(result)} instead of y's values", f"它返回了 {describe_zh(result)}，而不是 y 的数值")
    elif not seen.get("in_graph"):  # what the student's side reports can only fail the test
        problem = ("y left the graph", "y 离开了计算图")
    elif seen.get("backward"):
        problem = (f"afterwards y.sum().backward() raised {seen['backward']}",
                   f"之后 y.sum().backward() 抛出 {str(seen['backward']).split(':')[0]}")
    elif w.grad is None or not torch.equal(w.grad, torch.full((3,), 2.0)):  # w.grad comes back with w
        problem = (f"afterwards y.sum().backward() gave w.grad = {describe(w.grad)}",
                   f"之后 y.sum().backward() 得到 w.grad = {describe_zh(w.grad)}")
    if problem:
        fail(en=f"to_numpy(y) with y = w * 2 in the graph: {problem[0]}; expected y's values as an array, y "
             "unchanged.", zh=f"对计算图中的 y = w * 2 调用 to_numpy(y)：{problem[1]}；应返回 y 的数值，且不"
             "改变 y。", hint_en="t.detach() makes a new tensor outside the graph; never change t itself (no "
             "t.requires_grad_(False), no t.detach_()).", hint_zh="t.detach() 会生成图外的新张量；不要修改 t 本身"
             "（不要 t.requires_grad_(False) 或 t.detach_()）。", function="to_numpy")
### END HIDDEN TESTS
