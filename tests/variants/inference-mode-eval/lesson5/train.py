# APPEND
# Variant `inference-mode-eval`: correct code written another way; the reference's train_one_epoch, evaluate redefined.
# 正确的不同写法（inference-mode-eval）：重新定义参考答案中的 train_one_epoch, evaluate。


def train_one_epoch(model, loader, criterion, optimizer, device) -> float:
    model.train()
    total_loss = 0.0
    batches = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad(set_to_none=False)
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        batches += 1
    return total_loss / batches


def evaluate(model, loader, device) -> float:
    model.eval()
    correct = 0.0
    with torch.inference_mode():
        for batch_images, batch_labels in loader:
            batch_images = batch_images.to(device)
            batch_labels = batch_labels.to(device)
            logits = model(batch_images)
            correct += (logits.argmax(1) == batch_labels).float().sum().item()
    return correct / len(loader.dataset)
