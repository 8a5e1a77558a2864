"""Honest but wrong lesson 2: zeros for every gradient, no update (the red team's baseline)."""
import torch


def square_grad(x):
    return 0.0


def linear_loss_grads(w, b, x, y_true):
    return 0.0, torch.zeros_like(w), torch.zeros(())


def zero_grads(params):
    return None


def sgd_step(params, lr):
    return None


def accumulated_grad(x, times):
    return torch.zeros(())
