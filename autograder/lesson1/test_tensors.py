"""Tests for lesson 1, tensors. / 第 1 课（张量）的测试。"""
import numpy as np
import pytest
import torch

from coursetools.feedback import describe, fail, failing_on

pytestmark = pytest.mark.lesson1


@pytest.fixture(scope="module")
def tensors(submission):
    """lesson1/tensors.py of the submission under test."""
    return submission.module("lesson1", "tensors")


def _expect_tensor(value, name, call):
    if not isinstance(value, torch.Tensor):
        fail(1, name, f"{call} returned {describe(value)}, not a torch.Tensor.",
             f"{call} 返回了 {describe(value)}，而不是 torch.Tensor。")


def _call(tensors, name, call, *args, pitfall=None):
    """Call the submission's `name`(*args); an error it raises fails the test with `call` named."""
    function = getattr(tensors, name)
    with failing_on(Exception, 1, name, f"{call} raised", f"{call} 抛出", pitfall=pitfall):
        return function(*args)


def test_scalar_tensor_is_0dim_float32(tensors):
    """Check that scalar_tensor(3) is a 0-dim float32 tensor holding 3.0."""
    result = _call(tensors, "scalar_tensor", "scalar_tensor(3)", 3)
    _expect_tensor(result, "scalar_tensor", "scalar_tensor(3)")
    if result.shape != () or result.dtype != torch.float32 or result.item() != 3.0:
        fail(1, "scalar_tensor", f"scalar_tensor(3) gave {describe(result)}; expected shape (), dtype torch.float32, value 3.0.",
             f"scalar_tensor(3) 得到 {describe(result)}；应为形状 ()、类型 torch.float32、值 3.0。",
             "torch.tensor(value, dtype=torch.float32) makes a 0-dim tensor.",
             "torch.tensor(value, dtype=torch.float32) 会创建 0 维张量。")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("value", [-7, 0, 2.5, -0.125, 16777217])
def test_scalar_tensor_from_int_and_float_inputs(tensors, value):
    """Check scalar_tensor on ints and floats against torch.tensor(value, dtype=torch.float32)."""
    result = _call(tensors, "scalar_tensor", f"scalar_tensor({value!r})", value)
    _expect_tensor(result, "scalar_tensor", f"scalar_tensor({value!r})")
    expected = torch.tensor(value, dtype=torch.float32)
    if result.shape != () or result.dtype != torch.float32 or not torch.equal(result.cpu(), expected):
        fail(1, "scalar_tensor", f"scalar_tensor({value!r}) ({type(value).__name__} input) gave {describe(result)}; "
             "expected shape (), dtype torch.float32 holding the same number.",
             f"scalar_tensor({value!r})（{type(value).__name__} 输入）得到 {describe(result)}；应为形状 ()、类型 "
             "torch.float32、数值相同的张量。",
             "ints must become float32 too: torch.tensor(value, dtype=torch.float32).",
             "整数也要变成 float32：torch.tensor(value, dtype=torch.float32)。")
### END HIDDEN TESTS


@pytest.mark.parametrize("values, dtype", [([1, 2, 3], torch.int64), ([0.5, 1.5], torch.float32)])
def test_vector_from_list_keeps_dtype(tensors, values, dtype):
    """Check that vector_from_list keeps ints as int64 and floats as float32."""
    result = _call(tensors, "vector_from_list", f"vector_from_list({values})", values)
    _expect_tensor(result, "vector_from_list", f"vector_from_list({values})")
    if result.dtype != dtype or result.tolist() != values:
        fail(1, "vector_from_list", f"vector_from_list({values}) gave {describe(result)}; expected dtype {dtype} "
             f"and values {values} (torch.tensor({values}).dtype is {dtype}).",
             f"vector_from_list({values}) 得到 {describe(result)}；应为类型 {dtype}、值 {values}。",
             pitfall="tensor-constructor-dtype" if dtype == torch.int64 and result.dtype.is_floating_point else None)


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("values", [[7], [-3, 0, 2**40], [0.1, -2.0, 3.5], [1, 2.5]],
                         ids=["one-int", "big-ints", "floats", "mixed"])
def test_vector_from_list_matches_torch_tensor(tensors, values):
    """Check vector_from_list on more lists against torch.tensor(values): 1-D, same dtype, same values."""
    result = _call(tensors, "vector_from_list", f"vector_from_list({values})", values)
    _expect_tensor(result, "vector_from_list", f"vector_from_list({values})")
    expected = torch.tensor(values)
    if result.shape != expected.shape or result.dtype != expected.dtype or not torch.equal(result.cpu(), expected):
        ints = all(isinstance(v, int) for v in values)
        fail(1, "vector_from_list", f"vector_from_list({values}) gave {describe(result)}; expected a 1-D tensor of "
             f"dtype {expected.dtype} with the same {len(values)} values (what torch.tensor({values}) gives).",
             f"vector_from_list({values}) 得到 {describe(result)}；应为类型 {expected.dtype}、含相同 {len(values)} "
             "个值的 1 维张量（即 torch.tensor 的结果）。",
             pitfall="tensor-constructor-dtype" if ints and result.dtype.is_floating_point else None)
### END HIDDEN TESTS


def test_matrix_from_numpy_shares_memory(tensors):
    """Check that the tensor changes when the NumPy array it came from changes."""
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    result = _call(tensors, "matrix_from_numpy", "matrix_from_numpy(array)", array)
    _expect_tensor(result, "matrix_from_numpy", "matrix_from_numpy(array)")
    array[0, 0] = 42.0
    if tuple(result.shape) != (2, 3) or result[0, 0].item() != 42.0:
        fail(1, "matrix_from_numpy", f"after array[0, 0] = 42 the tensor is {describe(result)}; "
             "expected it to share memory with the array (value 42 at [0, 0]).",
             f"执行 array[0, 0] = 42 后张量为 {describe(result)}；应与数组共享内存（[0, 0] 处为 42）。",
             "torch.from_numpy(array) wraps the array without copying; torch.tensor(array) copies.",
             "torch.from_numpy(array) 不复制地包装数组；torch.tensor(array) 会复制。")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.uint8], ids=lambda d: d.__name__)
def test_matrix_from_numpy_shares_memory_both_ways_for_each_dtype(tensors, dtype):
    """Check dtype, shape, values and shared memory (array -> tensor and tensor -> array) for several dtypes."""
    array = (np.arange(12) % 7).astype(dtype).reshape(3, 4)
    original = array.copy()
    result = _call(tensors, "matrix_from_numpy", f"matrix_from_numpy(a {dtype.__name__} array)", array)
    _expect_tensor(result, "matrix_from_numpy", f"matrix_from_numpy(a {dtype.__name__} array of shape (3, 4))")
    expected_dtype = torch.from_numpy(original).dtype
    call = f"matrix_from_numpy(a {dtype.__name__} array of shape (3, 4))"
    if tuple(result.shape) != (3, 4) or result.dtype != expected_dtype \
            or not np.array_equal(result.detach().cpu().numpy(), original):
        fail(1, "matrix_from_numpy", f"{call} gave {describe(result)}; expected shape (3, 4), dtype {expected_dtype} "
             "and the array's values.", f"{call} 得到 {describe(result)}；应为形状 (3, 4)、类型 {expected_dtype}、"
             "与数组相同的值。", "torch.from_numpy(array) keeps the dtype and the values.",
             "torch.from_numpy(array) 保留类型和数值。")
    array[2, 3] = 5
    result[0, 1] = 6
    if result[2, 3].item() != 5 or array[0, 1] != 6:
        fail(1, "matrix_from_numpy", f"{call}: after array[2, 3] = 5 and tensor[0, 1] = 6 the tensor holds "
             f"{result[2, 3].item()} at [2, 3] and the array {array[0, 1]} at [0, 1]; expected both to see both "
             "changes (one shared memory).", f"{call}：执行 array[2, 3] = 5 和 tensor[0, 1] = 6 之后，张量 [2, 3] "
             f"处为 {result[2, 3].item()}，数组 [0, 1] 处为 {array[0, 1]}；两者应共享同一块内存，互相看到修改。",
             "torch.from_numpy(array) (or torch.as_tensor) wraps the array without copying; do not convert the dtype.",
             "torch.from_numpy(array)（或 torch.as_tensor）不复制地包装数组；不要转换数据类型。")
### END HIDDEN TESTS


@pytest.mark.parametrize("kind", ["zeros", "ones", "rand"])
def test_filled_makes_float32_of_shape(tensors, kind):
    """Check filled(shape, kind) for each allowed kind."""
    result = _call(tensors, "filled", f"filled((2, 3), {kind!r})", (2, 3), kind)
    _expect_tensor(result, "filled", f"filled((2, 3), {kind!r})")
    right_values = {"zeros": bool((result == 0).all()), "ones": bool((result == 1).all()),
                    "rand": bool(((result >= 0) & (result < 1)).all())}[kind] if result.shape == (2, 3) else False
    if result.dtype != torch.float32 or not right_values:
        fail(1, "filled", f"filled((2, 3), {kind!r}) gave {describe(result)}; expected float32 of shape (2, 3) "
             f"filled by torch.{kind}.", f"filled((2, 3), {kind!r}) 得到 {describe(result)}；应为用 torch.{kind} "
             "填充的 (2, 3) float32 张量。")


def _expect_value_error(tensors, kind):
    """Call filled((2, 2), kind) and fail unless it raises ValueError naming the three allowed kinds."""
    try:
        result = tensors.filled((2, 2), kind)
    except ValueError as error:
        if not all(name in str(error) for name in ("zeros", "ones", "rand")):
            fail(1, "filled", f"filled((2, 2), {kind!r}) raised ValueError({str(error)[:100]!r}); expected the "
                 "message to name the allowed kinds zeros, ones, rand.", f"filled((2, 2), {kind!r}) 抛出 "
                 f"ValueError({str(error)[:100]!r})；错误信息应列出允许的取值 zeros、ones、rand。")
        return
    except NotImplementedError:
        raise
    except Exception as error:
        fail(1, "filled", f"filled((2, 2), {kind!r}) raised {type(error).__name__}: {str(error)[:100]}; expected "
             "ValueError naming the allowed kinds.", f"filled((2, 2), {kind!r}) 抛出 {type(error).__name__}；"
             "应抛出列出允许取值的 ValueError。", "raise ValueError(f\"kind must be one of zeros, ones, rand, got "
             "{kind!r}\").", "raise ValueError(...) 并在信息中列出 zeros、ones、rand。")
    fail(1, "filled", f"filled((2, 2), {kind!r}) returned {describe(result)}; expected ValueError naming the "
         "allowed kinds zeros, ones, rand.", f"filled((2, 2), {kind!r}) 返回了 {describe(result)}；应抛出列出 "
         "zeros、ones、rand 的 ValueError。", "check `kind` against the three allowed names before building anything.",
         "先检查 `kind` 是否为三个允许的名字之一。")


def test_filled_rejects_unknown_kind(tensors):
    """Check that an unknown kind raises ValueError naming the allowed kinds."""
    _expect_value_error(tensors, "twos")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), (1, 1)])
@pytest.mark.parametrize("kind", ["zeros", "ones", "rand"])
def test_filled_other_shapes(tensors, shape, kind):
    """Check filled for 1-D, 3-D and 1x1 shapes: float32, the shape asked for, the right values."""
    result = _call(tensors, "filled", f"filled({shape}, {kind!r})", shape, kind)
    _expect_tensor(result, "filled", f"filled({shape}, {kind!r})")
    good = result.dtype == torch.float32 and tuple(result.shape) == shape and {
        "zeros": lambda r: bool((r == 0).all()), "ones": lambda r: bool((r == 1).all()),
        "rand": lambda r: bool(((r >= 0) & (r < 1)).all())}[kind](result)
    if not good:
        fail(1, "filled", f"filled({shape}, {kind!r}) gave {describe(result)}; expected float32 of shape {shape} "
             f"filled by torch.{kind}.", f"filled({shape}, {kind!r}) 得到 {describe(result)}；应为用 torch.{kind} "
             f"填充、形状为 {shape} 的 float32 张量。", "pass the shape on: torch.zeros(shape), torch.ones(shape), "
             "torch.rand(shape).", "把形状原样传下去：torch.zeros(shape)、torch.ones(shape)、torch.rand(shape)。")


def test_filled_rand_is_uniform_in_0_1(tensors):
    """Check that filled(..., "rand") draws fresh uniform numbers in [0, 1), not a constant."""
    torch.manual_seed(0)
    result = _call(tensors, "filled", "filled((100, 100), 'rand')", (100, 100), "rand")
    _expect_tensor(result, "filled", "filled((100, 100), 'rand')")
    ok = tuple(result.shape) == (100, 100) and result.dtype == torch.float32
    if ok:
        values = result.detach().cpu()
        ok = bool(((values >= 0) & (values < 1)).all()) and 0.45 < values.mean().item() < 0.55 \
            and 0.25 < values.std().item() < 0.33 and len(torch.unique(values)) > 9000
    if not ok:
        fail(1, "filled", f"filled((100, 100), 'rand') gave {describe(result)}; expected float32 numbers drawn "
             "uniformly from [0, 1) (mean near 0.5, nearly all different).",
             f"filled((100, 100), 'rand') 得到 {describe(result)}；应为在 [0, 1) 上均匀抽取的 float32 数"
             "（均值约 0.5，几乎各不相同）。", "torch.rand(shape) draws uniform numbers in [0, 1).",
             "torch.rand(shape) 在 [0, 1) 上均匀抽样。")


@pytest.mark.parametrize("kind", ["Zeros", "", "full", "randn"])
def test_filled_rejects_other_kinds(tensors, kind):
    """Check that any kind other than the three raises ValueError naming the allowed kinds."""
    _expect_value_error(tensors, kind)
### END HIDDEN TESTS


def _check_flatten(tensors, images, what, what_zh):
    """flatten_images(images) must equal images.reshape(N, 784) and leave `images` alone.

    When it fails on a non-contiguous input but works on the same pixels in contiguous
    memory, the diagnosis is the `view` pitfall.
    """
    n, before = len(images), images.clone()
    try:
        result, error = tensors.flatten_images(images), None
    except NotImplementedError:
        raise
    except Exception as raised:
        result, error = None, raised
    expected = before.reshape(n, 784)
    if error is None and isinstance(result, torch.Tensor) and tuple(result.shape) == (n, 784) \
            and torch.equal(result, expected) and torch.equal(images, before):
        return
    fine_when_contiguous = False
    if not images.is_contiguous():  # the same pixels in contiguous memory: does only the layout make it fail?
        try:
            fine_when_contiguous = torch.equal(tensors.flatten_images(before.contiguous()), expected)
        except Exception:
            pass
    got = f"raised {type(error).__name__}: {str(error)[:200].rstrip('.')}" if error is not None else f"gave {describe(result)}"
    got_zh = f"抛出 {type(error).__name__}" if error is not None else f"得到 {describe(result)}"
    layout = f"shape {tuple(images.shape)}" if images.is_contiguous() else \
        f"shape {tuple(images.shape)} and strides {images.stride()} (not contiguous)"
    layout_zh = f"形状 {tuple(images.shape)}" if images.is_contiguous() else \
        f"形状 {tuple(images.shape)}、步长 {images.stride()}，内存不连续"
    hints = ("", "") if fine_when_contiguous else (
        "keep the batch dimension, whatever its size, and flatten the rest: images.reshape(len(images), -1).",
        "保留批次维度（无论大小），展平其余维度：images.reshape(len(images), -1)。")
    fail(1, "flatten_images", f"{what} of {layout} {got}; expected shape ({n}, 784) holding the pixels in order, "
         f"the input left as it was{' (the same pixels in contiguous memory work)' if fine_when_contiguous else ''}.",
         f"{what_zh}（{layout_zh}）{got_zh}；应为按顺序排列像素的 ({n}, 784)，且不修改输入"
         f"{'（同样的像素放在连续内存中时是对的）' if fine_when_contiguous else ''}。", *hints,
         pitfall="view-non-contiguous" if fine_when_contiguous else None)


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
    result = _call(tensors, "add_channel_dim", "add_channel_dim(input of shape (3, 28, 28))", images)
    _expect_tensor(result, "add_channel_dim", "add_channel_dim(input of shape (3, 28, 28))")
    if tuple(result.shape) != (3, 1, 28, 28):
        fail(1, "add_channel_dim", f"input shape (3, 28, 28) gave {describe(result)}; expected (3, 1, 28, 28).",
             f"输入形状 (3, 28, 28) 得到 {describe(result)}；应为 (3, 1, 28, 28)。", pitfall="missing-channel-dim")
    if not torch.equal(result[:, 0], images):
        fail(1, "add_channel_dim", f"input shape (3, 28, 28) gave {describe(result)}: the right shape, but result[:, 0] "
             "is not the input image.", f"输入形状 (3, 28, 28) 得到 {describe(result)}：形状对了，但 result[:, 0] "
             "不是输入图像。", "insert a dimension without moving the pixels: images.unsqueeze(1).",
             "插入一个维度而不移动像素：images.unsqueeze(1)。")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("shape", [(1, 28, 28), (2, 5, 7), (6, 1, 3)])
def test_add_channel_dim_on_other_shapes(tensors, shape):
    """Check add_channel_dim on one image, non-square images and H = 1: (N, 1, H, W), same pixels, input untouched."""
    images = torch.randn(shape, generator=torch.Generator().manual_seed(5))
    before = images.clone()
    result = _call(tensors, "add_channel_dim", f"add_channel_dim(input of shape {shape})", images)
    _expect_tensor(result, "add_channel_dim", f"add_channel_dim(input of shape {shape})")
    n, h, w = shape
    if tuple(result.shape) != (n, 1, h, w):
        fail(1, "add_channel_dim", f"input shape {shape} gave {describe(result)}; expected ({n}, 1, {h}, {w}).",
             f"输入形状 {shape} 得到 {describe(result)}；应为 ({n}, 1, {h}, {w})。", pitfall="missing-channel-dim")
    if not torch.equal(result[:, 0], before) or not torch.equal(images, before):
        fail(1, "add_channel_dim", f"input shape {shape} gave {describe(result)}: the right shape, but the pixels "
             "moved or the input changed.", f"输入形状 {shape} 得到 {describe(result)}：形状对了，但像素位置变了或"
             "输入被修改了。", "images.unsqueeze(1) inserts the channel dimension and copies nothing.",
             "images.unsqueeze(1) 插入通道维度，不复制也不修改数据。")
### END HIDDEN TESTS


def test_multiply_gives_elementwise_and_matrix_product(tensors):
    """Check multiply(a, b) against a * b and a @ b."""
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(3, 3, generator=g), torch.randn(3, 3, generator=g)
    result = _call(tensors, "multiply", "multiply(a, b) on 3x3 matrices", a, b)
    if not (isinstance(result, tuple) and len(result) == 2 and all(isinstance(r, torch.Tensor) for r in result)):
        fail(1, "multiply", f"multiply(a, b) returned {describe(result)}; expected a tuple of two tensors.",
             f"multiply(a, b) 返回了 {describe(result)}；应为两个张量组成的元组。")
    elementwise, matrix = result
    if not torch.allclose(elementwise, a * b) or not torch.allclose(matrix, a @ b):
        fail(1, "multiply", f"multiply(a, b) on 3x3 matrices gave ({describe(elementwise)}), ({describe(matrix)}); "
             "expected (a * b, a @ b).", "对 3x3 矩阵 multiply(a, b) 的结果不对；应为 (a * b, a @ b)。",
             "* multiplies element by element, @ (torch.matmul) is the matrix product.",
             "* 是逐元素相乘，@（torch.matmul）是矩阵乘法。")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("size, dtype", [(1, torch.float32), (4, torch.float32), (5, torch.float64), (2, torch.int64)])
def test_multiply_on_other_sizes_and_dtypes(tensors, size, dtype):
    """Check multiply on 1x1, 4x4, float64 and int64 matrices: shapes, dtypes, values, inputs untouched."""
    g = torch.Generator().manual_seed(6)
    a = (torch.randn(size, size, generator=g) * 4).to(dtype)
    b = (torch.randn(size, size, generator=g) * 4).to(dtype)
    a_before, b_before = a.clone(), b.clone()
    call = f"multiply(a, b) on {size}x{size} {dtype} matrices"
    result = _call(tensors, "multiply", call, a, b)
    if not (isinstance(result, tuple) and len(result) == 2 and all(isinstance(r, torch.Tensor) for r in result)):
        fail(1, "multiply", f"{call} returned {describe(result)}; expected a tuple of two tensors.",
             f"{call} 返回了 {describe(result)}；应为两个张量组成的元组。")
    problems = []
    for label, got, want in (("elementwise", result[0], a_before * b_before), ("matrix", result[1], a_before @ b_before)):
        if got.shape != want.shape or got.dtype != want.dtype or not torch.allclose(got, want):
            problems.append(f"{label} product {describe(got)}")
    if not torch.equal(a, a_before) or not torch.equal(b, b_before):
        problems.append("a or b changed in place")
    if problems:
        fail(1, "multiply", f"{call}: {'; '.join(problems)}; expected (a * b, a @ b), both {size}x{size} of dtype "
             f"{dtype}, with a and b left as they were.", f"{call}：{'；'.join(problems)}；应为 (a * b, a @ b)，"
             f"均为 {size}x{size}、类型 {dtype}，且不修改 a 和 b。",
             "* multiplies element by element, @ (torch.matmul) is the matrix product; avoid in-place mul_.",
             "* 是逐元素相乘，@（torch.matmul）是矩阵乘法；不要用原地的 mul_。")
### END HIDDEN TESTS


def test_to_device_keeps_values_on_cpu(tensors):
    """Check that to_device(t, "cpu") keeps the values on the CPU."""
    t = torch.arange(4.0)
    result = _call(tensors, "to_device", "to_device(t, 'cpu')", t, "cpu")
    _expect_tensor(result, "to_device", "to_device(t, 'cpu')")
    if result.device.type != "cpu" or not torch.equal(result, t):
        fail(1, "to_device", f"to_device(t, 'cpu') gave {describe(result)}; expected the values [0, 1, 2, 3] on cpu.",
             f"to_device(t, 'cpu') 得到 {describe(result)}；应为 cpu 上的 [0, 1, 2, 3]。")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_to_device_moves_to_cuda(tensors):
    """Check that to_device moves a tensor to CUDA when asked."""
    result = _call(tensors, "to_device", "to_device(t, 'cuda')", torch.arange(4.0), "cuda",
                   pitfall="device-mismatch")
    if result.device.type != "cuda":
        fail(1, "to_device", f"to_device(t, 'cuda') gave {describe(result)}; expected a tensor on cuda.",
             f"to_device(t, 'cuda') 得到 {describe(result)}；应在 cuda 上。", pitfall="device-mismatch")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("device", ["meta", torch.device("meta")], ids=["str", "torch.device"])
def test_to_device_honours_the_device_it_is_given(tensors, device):
    """Check that to_device puts the tensor on the device asked for (the meta device: any machine has it)."""
    t = torch.arange(6.0).reshape(2, 3)
    with failing_on(Exception, 1, "to_device", f"to_device(t, {device!r}) raised", f"to_device(t, {device!r}) 抛出",
                    pitfall="device-mismatch"):
        result = tensors.to_device(t, device)
    _expect_tensor(result, "to_device", f"to_device(t, {device!r})")
    if result.device.type != "meta" or result.shape != t.shape or result.dtype != t.dtype:
        fail(1, "to_device", f"to_device(a (2, 3) float32 tensor, {device!r}) gave {describe(result)}; expected a "
             "(2, 3) float32 tensor on the meta device.", f"to_device(一个 (2, 3) float32 张量, {device!r}) 得到 "
             f"{describe(result)}；应为 meta 设备上的 (2, 3) float32 张量。",
             "use the device you are given: t.to(device); never ignore it or hard-code 'cpu' or .cuda().",
             "使用传入的设备：t.to(device)；不要忽略它，也不要写死 'cpu' 或 .cuda()。", pitfall="device-mismatch")
    if t.device.type != "cpu" or not torch.equal(t, torch.arange(6.0).reshape(2, 3)):
        fail(1, "to_device", "to_device(t, 'meta') changed the caller's tensor t; expected t to stay as it was.",
             "to_device(t, 'meta') 修改了调用者的张量 t；t 应保持不变。", "return t.to(device) instead of changing t.",
             "返回 t.to(device)，不要修改 t。")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_to_device_round_trips_through_cuda(tensors):
    """Check that to_device to CUDA and back keeps shape, dtype and values."""
    t = torch.randn(3, 4, generator=torch.Generator().manual_seed(7))
    on_gpu = _call(tensors, "to_device", "to_device(t, torch.device('cuda'))", t, torch.device("cuda"),
                   pitfall="device-mismatch")
    _expect_tensor(on_gpu, "to_device", "to_device(t, torch.device('cuda'))")
    back = _call(tensors, "to_device", "to_device(t, 'cpu')", on_gpu, "cpu") if on_gpu.device.type == "cuda" else on_gpu
    if on_gpu.device.type != "cuda" or back.device.type != "cpu" or not torch.equal(back, t):
        fail(1, "to_device", f"to cuda gave {describe(on_gpu)} and back to cpu gave {describe(back)}; expected the "
             "same (3, 4) values on cuda, then on cpu.", f"移到 cuda 得到 {describe(on_gpu)}，移回 cpu 得到 "
             f"{describe(back)}；应先在 cuda、再在 cpu 上得到相同的 (3, 4) 数值。", pitfall="device-mismatch")
### END HIDDEN TESTS


def test_to_numpy_works_on_tensor_that_requires_grad(tensors):
    """Check that to_numpy works on a tensor that requires grad."""
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    with failing_on(Exception, 1, "to_numpy", "to_numpy on a tensor with requires_grad=True raised",
                    "对 requires_grad=True 的张量调用 to_numpy 抛出", pitfall="numpy-on-grad-or-cuda"):
        result = tensors.to_numpy(t)
    if not isinstance(result, np.ndarray) or result.tolist() != [1.0, 2.0]:
        fail(1, "to_numpy", f"to_numpy(tensor([1., 2.], requires_grad=True)) returned {describe(result)}; "
             "expected the NumPy array [1., 2.].", f"to_numpy 返回了 {describe(result)}；应为 NumPy 数组 [1., 2.]。")


### BEGIN HIDDEN TESTS
from torch.overrides import TorchFunctionMode  # noqa: E402


class NonCpuStandIn(TorchFunctionMode):
    """A `meta` tensor that behaves like a CUDA tensor holding `data`, while the mode is on.

    A meta tensor has no data, so copying it to the CPU would fail. Here every operation on
    it is also run on `data` (a CPU copy): where the meta result is a tensor, the two are
    paired; where the meta device cannot give data (.cpu(), .to("cpu"), .tolist()), the CPU
    result is returned, as a GPU would give. `.numpy()` on it raises, as on CUDA.
    """

    def __init__(self, data: torch.Tensor):
        super().__init__()
        self.tensor = torch.empty(data.shape, dtype=data.dtype, device="meta").requires_grad_(data.requires_grad)
        self._pairs = {id(self.tensor): (self.tensor, data)}  # id -> (meta tensor kept alive, its CPU data)

    def _tracked(self, value) -> bool:
        if isinstance(value, torch.Tensor):
            return id(value) in self._pairs
        if isinstance(value, (list, tuple)):
            return any(self._tracked(v) for v in value)
        if isinstance(value, dict):
            return any(self._tracked(v) for v in value.values())
        return False

    def _on_cpu(self, value):
        if isinstance(value, torch.Tensor) and id(value) in self._pairs:
            return self._pairs[id(value)][1]
        if isinstance(value, (list, tuple)):
            return type(value)(self._on_cpu(v) for v in value)
        if isinstance(value, dict):
            return {k: self._on_cpu(v) for k, v in value.items()}
        return value

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if not self._tracked((args, kwargs)):
            return func(*args, **kwargs)
        if func in (torch.Tensor.numpy, torch.Tensor.__array__) and not kwargs.get("force", False):
            raise TypeError("can't convert meta device type tensor (the grader's stand-in for a cuda:0 tensor) to "
                            "numpy. Use Tensor.cpu() to copy the tensor to host memory first.")
        on_cpu = func(*self._on_cpu(args), **self._on_cpu(kwargs))
        try:
            out = func(*args, **kwargs)
        except NotImplementedError:  # "Cannot copy out of meta tensor": the data leaves the device
            return on_cpu
        if isinstance(out, torch.Tensor) and out.device.type == "meta" and isinstance(on_cpu, torch.Tensor):
            self._pairs[id(out)] = (out, on_cpu)
        return out


@pytest.mark.parametrize("requires_grad", [True, False], ids=["requires-grad", "no-grad"])
def test_to_numpy_works_on_a_non_cpu_tensor(tensors, requires_grad):
    """Check to_numpy on a tensor that is not on the CPU (the meta device standing in for CUDA)."""
    data = torch.tensor([[1.5, -2.0, 3.25], [0.0, 7.0, 8.5]], requires_grad=requires_grad)
    stand_in = NonCpuStandIn(data)
    with failing_on(Exception, 1, "to_numpy", f"to_numpy on a (2, 3) tensor on a non-CPU device (requires_grad="
                    f"{requires_grad}) raised", f"对非 CPU 设备上的 (2, 3) 张量（requires_grad={requires_grad}）"
                    "调用 to_numpy 抛出", pitfall="numpy-on-grad-or-cuda"):
        with stand_in:
            result = tensors.to_numpy(stand_in.tensor)
    if not isinstance(result, np.ndarray) or result.shape != (2, 3) \
            or not np.array_equal(result, data.detach().numpy()):
        fail(1, "to_numpy", f"to_numpy on a (2, 3) tensor on a non-CPU device returned {describe(result)}; "
             "expected a (2, 3) NumPy array of its values.", f"对非 CPU 设备上的 (2, 3) 张量，to_numpy 返回了 "
             f"{describe(result)}；应为含其数值的 (2, 3) NumPy 数组。")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("requires_grad", [True, False], ids=["requires-grad", "no-grad"])
def test_to_numpy_works_on_a_cuda_tensor(tensors, requires_grad):
    """Check to_numpy on a real CUDA tensor, with and without requires_grad."""
    data = torch.tensor([[1.5, -2.0, 3.25], [0.0, 7.0, 8.5]])
    t = data.cuda().requires_grad_(requires_grad)
    with failing_on(Exception, 1, "to_numpy", f"to_numpy on a CUDA tensor (requires_grad={requires_grad}) raised",
                    f"对 CUDA 张量（requires_grad={requires_grad}）调用 to_numpy 抛出", pitfall="numpy-on-grad-or-cuda"):
        result = tensors.to_numpy(t)
    if not isinstance(result, np.ndarray) or not np.array_equal(result, data.numpy()):
        fail(1, "to_numpy", f"to_numpy on a (2, 3) CUDA tensor returned {describe(result)}; expected a (2, 3) NumPy "
             "array of its values.", f"对 (2, 3) 的 CUDA 张量，to_numpy 返回了 {describe(result)}；应为含其数值的 "
             "(2, 3) NumPy 数组。")


@pytest.mark.parametrize("make", [lambda: torch.tensor(2.5), lambda: torch.arange(6).reshape(2, 3),
                                  lambda: torch.linspace(-1, 1, 5, dtype=torch.float64)],
                         ids=["0-dim", "int64-matrix", "float64"])
def test_to_numpy_values_and_shape(tensors, make):
    """Check to_numpy on a 0-dim tensor, an int64 matrix and a float64 vector: same shape and values."""
    t = make()
    result = _call(tensors, "to_numpy", f"to_numpy({describe(t)})", t)
    expected = t.numpy()
    if not isinstance(result, np.ndarray) or result.shape != expected.shape or not np.array_equal(result, expected):
        fail(1, "to_numpy", f"to_numpy({describe(t)}) returned {describe(result)}; expected a NumPy array of shape "
             f"{expected.shape} with the same values.", f"to_numpy({describe(t)}) 返回了 {describe(result)}；应为"
             f"形状 {expected.shape}、数值相同的 NumPy 数组。", "t.detach().cpu().numpy() keeps shape and values.",
             "t.detach().cpu().numpy() 保留形状和数值。")


def test_to_numpy_leaves_the_graph_alone(tensors):
    """Check that to_numpy on an intermediate result keeps it in the graph: backward still works afterwards."""
    w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = w * 2
    with failing_on(Exception, 1, "to_numpy", "to_numpy(y) with y = w * 2 in the graph raised",
                    "对计算图中的 y = w * 2 调用 to_numpy(y) 抛出", pitfall="numpy-on-grad-or-cuda"):
        result = tensors.to_numpy(y)
    problems = []
    if not isinstance(result, np.ndarray) or not np.array_equal(result, np.array([2.0, -4.0, 6.0], dtype=np.float32)):
        problems.append(f"it returned {describe(result)} instead of y's values")
    if not y.requires_grad or y.grad_fn is None:
        problems.append("y left the graph")
    else:
        y.sum().backward()
        if w.grad is None or not torch.equal(w.grad, torch.full((3,), 2.0)):
            problems.append(f"afterwards y.sum().backward() gave w.grad = {describe(w.grad)}")
    if problems:
        fail(1, "to_numpy", f"to_numpy(y) with y = w * 2 in the graph: {'; '.join(problems)}; expected y's values as "
             "an array, y unchanged.", f"对计算图中的 y = w * 2 调用 to_numpy(y)：{'；'.join(problems)}；应返回 y 的"
             "数值，且不改变 y。", "t.detach() makes a new tensor outside the graph; never change t itself "
             "(no t.requires_grad_(False), no t.detach_()).", "t.detach() 会生成图外的新张量；不要修改 t 本身"
             "（不要 t.requires_grad_(False) 或 t.detach_()）。")
### END HIDDEN TESTS
