"""Read and write uncompressed idx files of unsigned bytes (MNIST's file format).
读写由无符号字节组成的未压缩 idx 文件（MNIST 的文件格式）。

An idx file is a big-endian header, then the raw data:
idx 文件由大端序的文件头和紧随其后的原始数据组成：

    bytes 0-1: 0x00 0x00
    byte 2:    0x08 (unsigned byte data / 无符号字节数据)
    byte 3:    number of dimensions / 维数
    then one 4-byte big-endian size per dimension / 然后每个维度一个 4 字节大端序大小
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from ._layout import PREPARE_COMMAND, CourseDataError, bilingual

UBYTE = 0x08


def idx_header(shape: tuple[int, ...]) -> bytes:
    """The idx header for unsigned-byte data of this shape. / 给定形状的无符号字节数据的 idx 文件头。"""
    return bytes([0, 0, UBYTE, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def write_idx(path: Path, array: np.ndarray, sync: bool = True) -> None:
    """Write a uint8 array (1 to 3 dimensions) as an idx file, flushed to disk (unless `sync` is False: a
    temporary copy that a crash may lose).
    把 uint8 数组（1 到 3 维）写成 idx 文件，并刷新到磁盘（`sync` 为 False 时不刷新：可丢失的临时副本）。
    """
    if array.dtype != np.uint8:
        raise TypeError(f"write_idx needs a uint8 array, got {array.dtype}")
    if not 1 <= array.ndim <= 3:
        raise ValueError(f"write_idx needs 1 to 3 dimensions, got shape {array.shape}")
    with open(path, "wb") as f:
        f.write(idx_header(array.shape))
        f.write(np.ascontiguousarray(array).tobytes())
        if sync:
            f.flush()
            os.fsync(f.fileno())


def _bad_idx(path: Path, problem: str) -> CourseDataError:
    """The error for an idx file that is not what it should be. / idx 文件内容不对时的错误。"""
    return CourseDataError(bilingual(
        f"{path} is not a valid MNIST idx file: {problem}. "
        f"Delete its MNIST/raw folder and run `{PREPARE_COMMAND}` again.",
        f"{path} 不是有效的 MNIST idx 文件：{problem}。"
        f"请删除它所在的 MNIST/raw 文件夹，然后重新运行 `{PREPARE_COMMAND}`。",
    ))


def _read_header(f, path: Path, ndim: int) -> tuple[int, ...]:
    """Read and check the header of an open idx file; return its shape.
    读取并检查已打开的 idx 文件的文件头，返回其形状。
    """
    magic = f.read(4)
    if len(magic) != 4 or magic[:3] != bytes([0, 0, UBYTE]) or magic[3] != ndim:
        expected = idx_header((0,) * ndim)[:4].hex()
        raise _bad_idx(path, f"magic number {magic.hex() or 'missing'}, expected {expected}")
    sizes = f.read(4 * ndim)
    if len(sizes) != 4 * ndim:
        raise _bad_idx(path, "the header is cut short")
    return struct.unpack(f">{ndim}I", sizes)


def read_idx(path: Path, ndim: int, count: int | None = None) -> np.ndarray:
    """Read an unsigned-byte idx file with `ndim` dimensions into a writable uint8 array.
    把 `ndim` 维的无符号字节 idx 文件读成可写的 uint8 数组。

    Args:
        path: the idx file. / idx 文件。
        ndim: the expected number of dimensions (3 for images, 1 for labels).
            期望的维数（图像为 3，标签为 1）。
        count: read only the first `count` items (None: all of them).
            只读取前 `count` 项（None 表示全部）。
    """
    path = Path(path)
    if count is not None and count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    with open(path, "rb") as f:
        shape = _read_header(f, path, ndim)
        item_size = int(np.prod(shape[1:], dtype=np.int64))
        data_size = os.fstat(f.fileno()).st_size - f.tell()
        if data_size != shape[0] * item_size:
            raise _bad_idx(path, f"header says shape {shape}, but the file holds {data_size} data bytes")
        n = shape[0] if count is None else min(count, shape[0])
        buffer = bytearray(n * item_size)
        if f.readinto(buffer) != len(buffer):
            raise _bad_idx(path, "the file ended early")
    return np.frombuffer(buffer, dtype=np.uint8).reshape((n,) + tuple(shape[1:]))
