# APPEND
# Red team: a stride bomb in lesson 2 (see lesson1/tensors.py): gradients of 2 GiB made of 4 bytes.
# 红队：第 2 课的步长炸弹：由 4 字节构成的 2 GiB 梯度。


def linear_loss_grads(w, b, x, y_true):
    return 0.0, torch.zeros(1, 1).expand(2**14, 2**15), torch.zeros(1, 1).expand(2**14, 2**15)


def accumulated_grad(x, times):
    return torch.zeros(1, 1).expand(2**14, 2**15)
