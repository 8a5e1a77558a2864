# APPEND
# Hostile case: allocating 40 GB. / 恶意用例：申请 40 GB 内存。


def add_channel_dim(images):
    hog = torch.ones(10 * 2**30)  # 10 Gi float32 values = 40 GiB
    return images.unsqueeze(1) + hog[0]
