# APPEND
# Mutant for the pitfall `missing-channel-dim`: the reference's SimpleMNISTNet redefined with that one bug.
# 变异体（missing-channel-dim）：用带这个错误的版本重新定义参考答案中的 SimpleMNISTNet。


class SimpleMNISTNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(28 * 28, 128)
        self.relu = nn.ReLU()
        self.linear2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, x.shape[1] * x.shape[2])  # counts on (N, 28, 28): height times width
        x = self.relu(self.linear1(x))
        return self.linear2(x)
