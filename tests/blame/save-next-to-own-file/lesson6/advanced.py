# APPEND
# Wrong, but no pitfall of the table: a copy of the checkpoint saved next to the lesson file, which the graded copy
# does not allow (it is read-only). The message must say why and where to write (tests/test_right_blame.py).
# 错误，但不属于常见错误表：把检查点另存到课程文件旁边；被评分的副本是只读的，消息要说明原因和可写的位置。
from pathlib import Path as _Path

import torch


def save_checkpoint(model, path) -> None:
    torch.save(model.state_dict(), _Path(__file__).parent / "last.pt")  # a copy next to the lesson file
    torch.save(model.state_dict(), path)
