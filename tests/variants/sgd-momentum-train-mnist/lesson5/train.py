# APPEND
# Variant `sgd-momentum-train-mnist`: correct code written another way; the reference's train_mnist redefined.
# 正确的不同写法（sgd-momentum-train-mnist）：重新定义参考答案中的 train_mnist。


def train_mnist(data_root, epochs: int = 2, batch_size: int = 64, lr: float = 0.05, device=None, seed: int = 0) -> tuple:
    # Your own lessons 3 and 4 (the submission folder is on the import path).
    # 你自己的第 3、4 课（提交文件夹在导入路径上）。
    from lesson3.data import load_mnist, make_loaders
    from lesson4.model import SimpleMNISTNet

    torch.manual_seed(seed)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    train_loader, test_loader = make_loaders(
        load_mnist(data_root, train=True), load_mnist(data_root, train=False), batch_size=batch_size
    )
    model = SimpleMNISTNet().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for _ in range(epochs):
        train_one_epoch(model, train_loader, criterion, optimizer, device)
    return model, evaluate(model, test_loader, device)
