# APPEND
# Variant `numpy-scalar-returns`: the mean batch loss as numpy.float32, the accuracy as a 0-dim tensor.
# 正确的不同写法：以 numpy.float32 返回平均批次损失，以 0 维张量返回准确率。
import numpy as np


def train_one_epoch(model, loader, criterion, optimizer, device) -> float:
    model.train()
    losses = []
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.mean(np.array(losses, dtype=np.float32))


def evaluate(model, loader, device) -> float:
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            correct = correct + (model(images).argmax(dim=1) == labels).sum()  # a 0-dim tensor on `device`
            total += labels.numel()
    return correct / total
