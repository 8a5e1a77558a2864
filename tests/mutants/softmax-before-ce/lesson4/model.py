# APPEND
# Mutant for the pitfall `softmax-before-ce`: the reference's SimpleMNISTNet redefined with that one bug.
# 变异体（softmax-before-ce）：用带这个错误的版本重新定义参考答案中的 SimpleMNISTNet。


class SimpleMNISTNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear1 = nn.Linear(28 * 28, 128)  # 784 = 28 * 28 pixels
        self.relu = nn.ReLU()
        self.linear2 = nn.Linear(128, 10)  # 10 digit classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)
        x = self.relu(self.linear1(x))
        return torch.softmax(self.linear2(x), dim=1)
