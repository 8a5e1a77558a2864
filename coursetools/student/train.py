"""`course train` (or `python -m coursetools.student.train`): lesson 5's goal on the student's own machine.

Runs the student's own `train_mnist` from exercises/lesson5/train.py on the prepared MNIST
folder, with its own defaults (as the graders call it), shows a progress line for every pass
over a data loader (the loop is the student's: the loader is what can be watched without
changing it), and prints the test accuracy it returned against the 95 % goal.

`course train`（或 `python -m coursetools.student.train`）：在学生自己的电脑上用默认参数运行
exercises/lesson5/train.py 里的 `train_mnist`，每遍历一次数据加载器显示一行进度，最后打印它返回的
测试准确率，并与 95% 的目标比较。

    course train [--device cpu|cuda] [--data-root DIR] [--exercises DIR] [--lang en|zh|both]
"""
import argparse
import importlib
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from coursetools import text
from coursetools.student.printer import Printer

GOAL = 0.95


class Progress:
    """Wraps DataLoader.__iter__ while active: one progress line per pass over a loader (training or test
    split, batches done, images, seconds); updated in place on a terminal, one line per pass otherwise."""

    def __init__(self, out: Printer, stream=None):
        self.out, self.stream = out, stream or out.stream
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.passes = {}  # split -> passes begun

    def _label(self, loader) -> tuple:
        split = getattr(getattr(loader, "dataset", None), "train", None)
        kind = "train" if split is True else "test" if split is False else "data"
        self.passes[kind] = self.passes.get(kind, 0) + 1
        en = {"train": "epoch", "test": "test pass", "data": "pass"}[kind]
        zh = {"train": "训练第", "test": "测试第", "data": "第"}[kind]
        return (f"{en} {self.passes[kind]}", f"{zh} {self.passes[kind]} 轮" if kind == "train"
                else f"{zh} {self.passes[kind]} 遍")

    def _show(self, label, done, total, images, seconds, end=False):
        width = 20
        filled = round(width * done / total) if total else width
        line = (f"{self.out.label(*label)}  [{'#' * filled}{'-' * (width - filled)}] {done}/{total or '?'} "
                f"{self.out.label('batches', '批')}, {images:,} {self.out.label('images', '张图像')}, {seconds:.0f} s")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if end else ""))
            self.stream.flush()
        elif end:
            print(line, file=self.stream, flush=True)

    def wrap(self, iterate):
        progress = self

        def __iter__(loader):
            label = progress._label(loader)
            try:
                total = len(loader)
            except TypeError:
                total = 0
            start, done, images = time.monotonic(), 0, 0
            for batch in iterate(loader):
                done += 1
                first = batch[0] if isinstance(batch, (list, tuple)) and batch else batch
                images += len(first) if hasattr(first, "__len__") else 0
                if progress.tty and (done % 20 == 0 or done == total):
                    progress._show(label, done, total, images, time.monotonic() - start)
                yield batch
            progress._show(label, done, total, images, time.monotonic() - start, end=True)

        return __iter__


@contextmanager
def watched_loaders(progress: Progress):
    """DataLoader.__iter__ shows progress inside the block (and only there)."""
    from torch.utils.data import DataLoader

    original = DataLoader.__iter__
    DataLoader.__iter__ = progress.wrap(original)
    try:
        yield
    finally:
        DataLoader.__iter__ = original


def _student_frame(error: BaseException, root: Path):
    """(path in the exercises, line, source) of the innermost frame of the student's files, else None."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve().is_relative_to(root.resolve())]
    if not frames:
        return None
    last = frames[-1]
    return str(Path(last.filename).resolve().relative_to(root.resolve())), last.lineno, (last.line or "").strip()


def run(exercises: Path, out: Printer, data_root=None, device=None) -> int:
    """Train with the student's train_mnist and print the accuracy against the goal; 0 when the goal is reached."""
    import torch

    import course_data

    try:
        root = course_data.require_mnist(data_root)
    except course_data.CourseDataError as error:
        out.message(str(error))
        return 1
    if not (exercises / "lesson5" / "train.py").is_file():
        out.say(f"{exercises}/lesson5/train.py is missing: train_mnist lives there.",
                f"缺少 {exercises}/lesson5/train.py：train_mnist 写在那里。")
        return 1
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    sys.path.insert(0, str(exercises))  # lesson files import earlier lessons as lesson3.data, lesson4.model
    out.say(f"Training with your train_mnist (lesson5/train.py) on the MNIST in {root}, with its own defaults, on "
            f"{device}: a minute or two on a laptop's CPU for all of MNIST.",
            f"用你的 train_mnist（lesson5/train.py）在 {root} 中的 MNIST 上训练，使用它自己的默认参数，设备 "
            f"{device}：完整 MNIST 在笔记本电脑的 CPU 上大约需要一两分钟。")
    start = time.monotonic()
    try:
        module = importlib.import_module("lesson5.train")
        with watched_loaders(Progress(out)):
            result = module.train_mnist(str(root), device=device, seed=0)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # noqa: BLE001 (the student's code may raise anything: it is reported, not hidden)
        from coursetools.sandbox.server import is_stub_raise

        frame = _student_frame(error, exercises)
        where = f"{frame[0]}, line {frame[1]}: {frame[2]}" if frame else ""
        where_zh = f"{frame[0]} 第 {frame[1]} 行：{frame[2]}" if frame else ""
        if isinstance(error, NotImplementedError) and frame and is_stub_raise(frame[2], error):
            out.say(f"train_mnist (or a function it calls) is not implemented yet ({where}): write it first, "
                    "then run `course check lesson5`.",
                    f"train_mnist（或它调用的函数）尚未实现（{where_zh}）：请先完成它，再运行 `course check lesson5`。")
            return 1
        detail = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"[:300]
        out.say(f"train_mnist raised {detail}" + (f" (at {where})" if where else "") +
                ". Run `course check lesson5` for an explanation.",
                f"train_mnist 抛出了 {detail}" + (f"（位置：{where_zh}）" if where else "") +
                "。运行 `course check lesson5` 查看说明。")
        return 1
    seconds = time.monotonic() - start
    accuracy = result[1] if isinstance(result, (tuple, list)) and len(result) == 2 else None
    try:
        value = float(accuracy)
    except (TypeError, ValueError):
        out.say(f"train_mnist returned {type(result).__name__} {str(result)[:80]}; expected (model, accuracy).",
                f"train_mnist 返回了 {type(result).__name__} {str(result)[:80]}；应返回 (模型, 准确率)。")
        return 1
    reached = value >= GOAL
    out.say(f"Test accuracy: {value:.2%} after {seconds:.0f} s (goal on all of MNIST: at least {GOAL:.0%}: "
            f"{'reached. Well done!' if reached else 'not reached yet'}).",
            f"测试准确率：{value:.2%}，用时 {seconds:.0f} 秒（完整 MNIST 上的目标：至少 {GOAL:.0%}："
            f"{'已达到，干得好！' if reached else '尚未达到'}）。")
    if not reached:
        out.say("Check the defaults (2 epochs, batch 64, Adam lr=1e-3) and run `course check lesson5`.",
                "检查默认参数（2 轮、批大小 64、Adam lr=1e-3），并运行 `course check lesson5`。")
    return 0 if reached else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available) / 设备")
    parser.add_argument("--data-root", default=None, metavar="DIR",
                        help="MNIST folder in torchvision's layout (default: the prepared course data) / 数据文件夹")


def main(argv=None) -> int:
    from coursetools.student.cli import exercises_dir

    parser = argparse.ArgumentParser(prog="python -m coursetools.student.train",
                                     description="Run your train_mnist on all of MNIST. / 在完整 MNIST 上运行你的 train_mnist。")
    add_arguments(parser)
    parser.add_argument("--exercises", default=None, metavar="DIR", help="the exercises folder / 练习文件夹")
    parser.add_argument("--lang", choices=text.CHOICES, default=None, help="en, zh or both / 输出语言")
    args = parser.parse_args(argv)
    out = Printer(text.choose(args.lang))
    return run(exercises_dir(args.exercises), out, args.data_root, args.device)


if __name__ == "__main__":
    sys.exit(main())
