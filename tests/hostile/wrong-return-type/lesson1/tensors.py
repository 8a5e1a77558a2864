# APPEND
# Hostile case: a list where a tensor is expected. / 恶意用例：应返回张量却返回列表。


def flatten_images(images):
    return images.reshape(len(images), -1).tolist()
