# APPEND
# Variant `cuda-style-loop`: correct code written for a GPU, as tutorials write it: labels logged with .tolist(),
# predictions gathered with .cpu().numpy(), outputs compared on the CPU with labels left there, .item() per batch,
# the forward under torch.autocast(device.type) (switched on for CUDA only). Every device test must accept it.
# 正确的不同写法（cuda-style-loop）：按 GPU 教程的写法，.tolist() 记录标签、.cpu().numpy() 收集预测、
# 在 CPU 上把输出与留在 CPU 的标签比较、每批 .item()，前向放在 torch.autocast(device.type) 中（只在 CUDA 上开启）。
import numpy as np


def train_one_epoch(model, loader, criterion, optimizer, device) -> float:
    device = torch.device(device)
    model.train()
    losses, seen_labels, hits = [], [], 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        seen_labels.extend(labels.tolist())  # a log of the classes seen
        optimizer.zero_grad()
        with torch.autocast(device.type, enabled=device.type == "cuda"):
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
    predicted, truth = [], []
    with torch.no_grad():
        for images, labels in loader:
            outputs = model(images.to(device))
            predicted.append(outputs.argmax(1).cpu().numpy())
            truth.append(labels.numpy())  # labels stay on the CPU: compared there
            assert (outputs.argmax(1).cpu() == labels).sum().item() >= 0
    return float((np.concatenate(predicted) == np.concatenate(truth)).mean())
