# APPEND
# Variant `zero-grad-after-step`: correct code written another way; the reference's train_one_epoch redefined.
# 正确的不同写法（zero-grad-after-step）：重新定义参考答案中的 train_one_epoch。


def train_one_epoch(model, loader, criterion, optimizer, device) -> float:
    model.train()
    total_loss = torch.zeros((), device=device)
    seen = 0
    for images, labels in loader:
        images = images.to(device, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        outputs = model(images)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        model.zero_grad()  # clearing after step() is just as good
        total_loss = total_loss + loss.detach() * len(labels)
        seen += len(labels)
    return total_loss / seen  # mean over samples, a 0-dim tensor
