# APPEND
# Mutant for the pitfall `eval-with-grad`: the reference's evaluate redefined with that one bug.
# 变异体（eval-with-grad）：用带这个错误的版本重新定义参考答案中的 evaluate。


def evaluate(model, loader, device) -> float:
    model.eval()
    correct = 0
    total = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        predictions = model(images).argmax(dim=1)
        correct += (predictions == labels).sum().item()
        total += labels.numel()
    return correct / total
