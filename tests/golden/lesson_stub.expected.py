"""A lesson source for the generator's golden test. / 生成器黄金测试用的课程源文件。"""
import torch


def double(x: torch.Tensor) -> torch.Tensor:
    """Return 2 * x. / 返回 2 * x。"""
    # YOUR CODE HERE / 在此编写代码
    raise NotImplementedError()


class Counter:
    """Counts calls. / 统计调用次数。"""

    def __init__(self):
        # YOUR CODE HERE / 在此编写代码
        raise NotImplementedError()

    def __call__(self) -> int:
        if True:
            # YOUR CODE HERE / 在此编写代码
            raise NotImplementedError()
