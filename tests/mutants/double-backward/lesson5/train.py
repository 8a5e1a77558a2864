# APPEND
# Mutant for the pitfall `double-backward`: the reference's train_one_epoch redefined with that one bug.
# 变异体（double-backward）：用带这个错误的版本重新定义参考答案中的 train_one_epoch。


def train_one_epoch(model, loader, criterion, optimizer, device) -> float:
    model.train()
    total_loss = 0.0
    batches = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        total_loss += loss.item()
        loss.backward()
        optimizer.step()
        batches += 1
    return total_loss / batches
