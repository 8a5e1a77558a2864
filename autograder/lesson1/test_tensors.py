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


def test_scalar_tensor_is_0dim_float32(tensors):
    """Check that scalar_tensor(3) is a 0-dim float32 tensor holding 3.0."""
    result = tensors.scalar_tensor(3)
    _expect_tensor(result, "scalar_tensor", "scalar_tensor(3)")
    if result.shape != () or result.dtype != torch.float32 or result.item() != 3.0:
        fail(1, "scalar_tensor", f"scalar_tensor(3) gave {describe(result)}; expected shape (), dtype torch.float32, value 3.0.",
             f"scalar_tensor(3) 得到 {describe(result)}；应为形状 ()、类型 torch.float32、值 3.0。",
             "torch.tensor(value, dtype=torch.float32) makes a 0-dim tensor.",
             "torch.tensor(value, dtype=torch.float32) 会创建 0 维张量。")


@pytest.mark.parametrize("values, dtype", [([1, 2, 3], torch.int64), ([0.5, 1.5], torch.float32)])
def test_vector_from_list_keeps_dtype(tensors, values, dtype):
    """Check that vector_from_list keeps ints as int64 and floats as float32."""
    result = tensors.vector_from_list(values)
    _expect_tensor(result, "vector_from_list", f"vector_from_list({values})")
    if result.dtype != dtype or result.tolist() != values:
        fail(1, "vector_from_list", f"vector_from_list({values}) gave {describe(result)}; expected dtype {dtype} "
             f"and values {values} (torch.tensor({values}).dtype is {dtype}).",
             f"vector_from_list({values}) 得到 {describe(result)}；应为类型 {dtype}、值 {values}。",
             pitfall="tensor-constructor-dtype" if result.dtype == torch.float32 else None)


def test_matrix_from_numpy_shares_memory(tensors):
    """Check that the tensor changes when the NumPy array it came from changes."""
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    result = tensors.matrix_from_numpy(array)
    _expect_tensor(result, "matrix_from_numpy", "matrix_from_numpy(array)")
    array[0, 0] = 42.0
    if tuple(result.shape) != (2, 3) or result[0, 0].item() != 42.0:
        fail(1, "matrix_from_numpy", f"after array[0, 0] = 42 the tensor is {describe(result)}; "
             "expected it to share memory with the array (value 42 at [0, 0]).",
             f"执行 array[0, 0] = 42 后张量为 {describe(result)}；应与数组共享内存（[0, 0] 处为 42）。",
             "torch.from_numpy(array) wraps the array without copying; torch.tensor(array) copies.",
             "torch.from_numpy(array) 不复制地包装数组；torch.tensor(array) 会复制。")


@pytest.mark.parametrize("kind", ["zeros", "ones", "rand"])
def test_filled_makes_float32_of_shape(tensors, kind):
    """Check filled(shape, kind) for each allowed kind."""
    result = tensors.filled((2, 3), kind)
    _expect_tensor(result, "filled", f"filled((2, 3), {kind!r})")
    right_values = {"zeros": bool((result == 0).all()), "ones": bool((result == 1).all()),
                    "rand": bool(((result >= 0) & (result < 1)).all())}[kind] if result.shape == (2, 3) else False
    if result.dtype != torch.float32 or not right_values:
        fail(1, "filled", f"filled((2, 3), {kind!r}) gave {describe(result)}; expected float32 of shape (2, 3) "
             f"filled by torch.{kind}.", f"filled((2, 3), {kind!r}) 得到 {describe(result)}；应为用 torch.{kind} "
             "填充的 (2, 3) float32 张量。")


def test_filled_rejects_unknown_kind(tensors):
    """Check that an unknown kind raises ValueError naming the allowed kinds."""
    with pytest.raises(ValueError) as raised:
        tensors.filled((2, 2), "twos")
    if not all(kind in str(raised.value) for kind in ("zeros", "ones", "rand")):
        fail(1, "filled", f"filled((2, 2), 'twos') raised ValueError({str(raised.value)!r}); expected the message "
             "to name the allowed kinds zeros, ones, rand.",
             f"filled((2, 2), 'twos') 抛出 ValueError({str(raised.value)!r})；错误信息应列出允许的取值 zeros、ones、rand。")


@pytest.mark.parametrize("shape", [(5, 28, 28), (5, 1, 28, 28), (1, 28, 28)])
def test_flatten_images_gives_n_by_784(tensors, shape):
    """Check that flatten_images keeps the batch dimension and flattens the rest."""
    images = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    result = tensors.flatten_images(images)
    _expect_tensor(result, "flatten_images", f"flatten_images(input of shape {shape})")
    if tuple(result.shape) != (shape[0], 784) or not torch.equal(result, images.reshape(shape[0], 784)):
        fail(1, "flatten_images", f"input shape {shape} gave {describe(result)}; expected shape ({shape[0]}, 784) "
             "holding the pixels in order.", f"输入形状 {shape} 得到 {describe(result)}；应为按顺序排列像素的 "
             f"({shape[0]}, 784)。", "keep the batch dimension and flatten the rest: images.reshape(len(images), -1).",
             "保留批次维度，展平其余维度。")


def test_flatten_images_accepts_non_contiguous_input(tensors):
    """Check that flatten_images works on a transposed (non-contiguous) batch."""
    images = torch.randn(4, 28, 28, generator=torch.Generator().manual_seed(1)).transpose(1, 2)
    with failing_on(RuntimeError, 1, "flatten_images", "a non-contiguous input of shape (4, 28, 28) raised",
                    "不连续的 (4, 28, 28) 输入抛出", pitfall="view-non-contiguous"):
        result = tensors.flatten_images(images)
    _expect_tensor(result, "flatten_images", "flatten_images(non-contiguous input)")
    if not torch.equal(result, images.reshape(4, 784)):
        fail(1, "flatten_images", f"a non-contiguous (4, 28, 28) input gave {describe(result)}; expected (4, 784).",
             f"不连续的 (4, 28, 28) 输入得到 {describe(result)}；应为 (4, 784)。", pitfall="view-non-contiguous")


def test_add_channel_dim_inserts_dim_1(tensors):
    """Check that add_channel_dim turns (N, H, W) into (N, 1, H, W)."""
    images = torch.rand(3, 28, 28)
    result = tensors.add_channel_dim(images)
    _expect_tensor(result, "add_channel_dim", "add_channel_dim(input of shape (3, 28, 28))")
    if tuple(result.shape) != (3, 1, 28, 28) or not torch.equal(result[:, 0], images):
        fail(1, "add_channel_dim", f"input shape (3, 28, 28) gave {describe(result)}; expected (3, 1, 28, 28).",
             f"输入形状 (3, 28, 28) 得到 {describe(result)}；应为 (3, 1, 28, 28)。", pitfall="missing-channel-dim")


def test_multiply_gives_elementwise_and_matrix_product(tensors):
    """Check multiply(a, b) against a * b and a @ b."""
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(3, 3, generator=g), torch.randn(3, 3, generator=g)
    result = tensors.multiply(a, b)
    if not (isinstance(result, tuple) and len(result) == 2 and all(isinstance(r, torch.Tensor) for r in result)):
        fail(1, "multiply", f"multiply(a, b) returned {describe(result)}; expected a tuple of two tensors.",
             f"multiply(a, b) 返回了 {describe(result)}；应为两个张量组成的元组。")
    elementwise, matrix = result
    if not torch.allclose(elementwise, a * b) or not torch.allclose(matrix, a @ b):
        fail(1, "multiply", f"multiply(a, b) on 3x3 matrices gave ({describe(elementwise)}), ({describe(matrix)}); "
             "expected (a * b, a @ b).", "对 3x3 矩阵 multiply(a, b) 的结果不对；应为 (a * b, a @ b)。",
             "* multiplies element by element, @ (torch.matmul) is the matrix product.",
             "* 是逐元素相乘，@（torch.matmul）是矩阵乘法。")


def test_to_device_keeps_values_on_cpu(tensors):
    """Check that to_device(t, "cpu") keeps the values on the CPU."""
    t = torch.arange(4.0)
    result = tensors.to_device(t, "cpu")
    _expect_tensor(result, "to_device", "to_device(t, 'cpu')")
    if result.device.type != "cpu" or not torch.equal(result, t):
        fail(1, "to_device", f"to_device(t, 'cpu') gave {describe(result)}; expected the values [0, 1, 2, 3] on cpu.",
             f"to_device(t, 'cpu') 得到 {describe(result)}；应为 cpu 上的 [0, 1, 2, 3]。")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_to_device_moves_to_cuda(tensors):
    """Check that to_device moves a tensor to CUDA when asked."""
    result = tensors.to_device(torch.arange(4.0), "cuda")
    if result.device.type != "cuda":
        fail(1, "to_device", f"to_device(t, 'cuda') gave {describe(result)}; expected a tensor on cuda.",
             f"to_device(t, 'cuda') 得到 {describe(result)}；应在 cuda 上。", pitfall="device-mismatch")


def test_to_numpy_works_on_tensor_that_requires_grad(tensors):
    """Check that to_numpy works on a tensor that requires grad."""
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    with failing_on(RuntimeError, 1, "to_numpy", "to_numpy on a tensor with requires_grad=True raised",
                    "对 requires_grad=True 的张量调用 to_numpy 抛出", pitfall="numpy-on-grad-or-cuda"):
        result = tensors.to_numpy(t)
    if not isinstance(result, np.ndarray) or result.tolist() != [1.0, 2.0]:
        fail(1, "to_numpy", f"to_numpy(tensor([1., 2.], requires_grad=True)) returned {describe(result)}; "
             "expected the NumPy array [1., 2.].", f"to_numpy 返回了 {describe(result)}；应为 NumPy 数组 [1., 2.]。")
