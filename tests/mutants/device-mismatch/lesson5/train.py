# APPEND
# Mutant for the pitfall `device-mismatch`: the reference's train_one_epoch redefined with that one bug.
# 变异体（device-mismatch）：用带这个错误的版本重新定义参考答案中的 train_one_epoch。


def train_one_epoch(model, loader, criterion, optimizer, device) -> float:
    model.train()
    total_loss = 0.0
    batches = 0
    for images, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        batches += 1
    return total_loss / batches
