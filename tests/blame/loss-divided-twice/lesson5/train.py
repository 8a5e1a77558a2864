# APPEND
# Wrong, but no pitfall of the table: the mean loss divided by the batch size once more (the weights barely move).
# A tag must name the mistake made, so it fails with no pitfall tag (tests/test_right_blame.py).
# 错误，但不属于常见错误表：平均损失又除了一次批大小（权重几乎不动）；失败时不应带任何常见错误标签。


def train_one_epoch(model, loader, criterion, optimizer, device) -> float:
    model.train()
    total_loss = 0.0
    batches = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels) / len(labels)  # criterion already took the mean
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        batches += 1
    return total_loss / batches
