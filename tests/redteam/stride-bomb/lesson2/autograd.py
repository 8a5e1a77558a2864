# APPEND
# Red team: a stride bomb in lesson 2 (see lesson1/tensors.py): gradients of 2 GiB made of 8 bytes.
# 红队：第 2 课的步长炸弹：由 8 字节构成的 2 GiB 梯度。


def linear_loss_grads(w, b, x, y_true):
    return 0.0, torch.zeros(2, 1).expand(2, 2**28), torch.zeros(2, 1).expand(2, 2**28)


def accumulated_grad(x, times):
    return torch.zeros(2, 1).expand(2, 2**28)
