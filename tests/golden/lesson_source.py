"""A lesson source for the generator's golden test. / 生成器黄金测试用的课程源文件。"""
import torch


def double(x: torch.Tensor) -> torch.Tensor:
    """Return 2 * x. / 返回 2 * x。"""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


class Counter:
    """Counts calls. / 统计调用次数。"""

    def __init__(self):
        ### BEGIN SOLUTION
        self.count = 0
        ### END SOLUTION

    def __call__(self) -> int:
        if True:
            ### BEGIN SOLUTION
            self.count += 1
            return self.count
            ### END SOLUTION
