"""Honest but wrong lesson 1: the right shapes, zeros for values (the red team's baseline)."""
import numpy as np
import torch


def scalar_tensor(value):
    return torch.zeros(())


def vector_from_list(values):
    return torch.zeros(len(values))


def matrix_from_numpy(array):
    return torch.zeros(array.shape)


def filled(shape, kind):
    return torch.zeros(shape)


def flatten_images(images):
    return torch.zeros(len(images), 784)


def add_channel_dim(images):
    return torch.zeros(images.shape[0], 1, *images.shape[1:])


def multiply(a, b):
    return torch.zeros_like(a), torch.zeros(a.shape[0], b.shape[-1])


def to_device(t, device):
    return torch.zeros_like(t)


def to_numpy(t):
    return np.zeros(tuple(t.shape), dtype=np.float32)
