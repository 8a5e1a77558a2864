# APPEND
# Mutant for the pitfall `numpy-on-grad-or-cuda`: the reference's evaluate redefined with that one bug.
# 变异体（numpy-on-grad-or-cuda）：用带这个错误的版本重新定义参考答案中的 evaluate。


def evaluate(model, loader, device) -> float:
    model.eval()
    correct = 0
    total = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        predictions = model(images).numpy().argmax(axis=1)
        correct += int((predictions == labels.numpy()).sum())
        total += labels.numel()
    return correct / total
