# APPEND
# Variant `cuda-style-loop`: correct code written for a GPU, as tutorials write it: labels logged with .tolist(),
# predictions gathered with .cpu().numpy(), outputs compared on the CPU with labels left there, .item() per batch,
# the forward under torch.autocast(device.type, enabled=AMP) (mixed precision off by default: on, CUDA's float16
# would change the weights the graders compare). Every device test must accept it.
# 正确的不同写法（cuda-style-loop）：按 GPU 教程的写法，.tolist() 记录标签、.cpu().numpy() 收集预测、
# 在 CPU 上把输出与留在 CPU 的标签比较、每批 .item()，前向放在 torch.autocast(device.type, enabled=AMP) 中（默认关闭混合精度）。
import numpy as np

AMP = False  # mixed precision, for speed on a GPU


def train_one_epoch(model, loader, criterion, optimizer, device) -> float:
    device = torch.device(device)
    model.train()
    losses, seen_labels, hits = [], [], 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        seen_labels.extend(labels.tolist())  # a log of the classes seen
        optimizer.zero_grad()
        with torch.autocast(device.type, enabled=AMP and device.type == "cuda"):
            outputs = model(images)
            loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        hits += int((outputs.argmax(1) == labels).sum().item())
        losses.append(loss.item())
    return float(np.mean(losses))


def evaluate(model, loader, device) -> float:
    device = torch.device(device)
    model.eval()
    correct, total, predicted = 0, 0, []
    with torch.no_grad():
        for images, labels in loader:
            outputs = model(images.to(device))
            predicted.append(outputs.argmax(1).cpu().numpy())  # kept for a confusion matrix
            correct += (outputs.argmax(1).cpu() == labels).sum().item()  # labels stay on the CPU
            total += len(labels)
    assert len(np.concatenate(predicted)) == total
    return correct / total
