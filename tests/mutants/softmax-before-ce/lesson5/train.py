# APPEND
# Mutant for the pitfall `softmax-before-ce`: the reference's train_one_epoch redefined with that one bug.
# 变异体（softmax-before-ce）：用带这个错误的版本重新定义参考答案中的 train_one_epoch。


def train_one_epoch(model, loader, criterion, optimizer, device) -> float:
    model.train()
    total_loss = 0.0
    batches = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        outputs = model(images)
        probabilities = torch.softmax(outputs, dim=1)
        loss = criterion(probabilities, labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        batches += 1
    return total_loss / batches
