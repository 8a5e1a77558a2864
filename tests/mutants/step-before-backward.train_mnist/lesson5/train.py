# APPEND
# Mutant for the pitfall `step-before-backward`, made in train_mnist's own loop (train_one_epoch stays right): the reference's
# train_mnist redefined with its own training loop and that one bug.
# 变异体（step-before-backward）：错误写在 train_mnist 自己的训练循环里（train_one_epoch 是对的）。


def train_mnist(data_root, epochs: int = 2, batch_size: int = 64, lr: float = 1e-3, device=None, seed: int = 0) -> tuple:
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
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            optimizer.step()  # the bug: step before backward
            loss.backward()
    return model, evaluate(model, test_loader, device)
