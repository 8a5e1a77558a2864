# APPEND
# Hostile case: the loss becomes NaN and so do the weights. / 恶意用例：损失变成 NaN，权重也随之变成 NaN。


def train_one_epoch(model, loader, criterion, optimizer, device):
    model.train()
    total, batches = 0.0, 0
    for images, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels) * float("nan")
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    return total / max(batches, 1)
