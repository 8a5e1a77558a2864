# APPEND
# Variant `requires-grad-freeze`: correct code written another way; the reference's get_device, build_finetune_model, save_checkpoint, load_checkpoint redefined.
# 正确的不同写法（requires-grad-freeze）：重新定义参考答案中的 get_device, build_finetune_model, save_checkpoint, load_checkpoint。


def get_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda:0")
    return torch.device("cpu")


def build_finetune_model(num_classes: int = 10, weights=None, freeze_backbone: bool = True) -> nn.Module:
    local_file = weights is not None and not hasattr(weights, "get_state_dict") and Path(weights).exists()
    model = models.resnet18(weights=None if local_file else weights)
    if local_file:
        model.load_state_dict(torch.load(Path(weights), map_location=torch.device("cpu")))
    model.requires_grad_(not freeze_backbone)
    model.fc = nn.Linear(512, num_classes)  # resnet18's last features: 512
    return model


def save_checkpoint(model: nn.Module, path) -> None:
    state = model.state_dict()
    torch.save(state, str(path))


def load_checkpoint(path, model: nn.Module, device) -> nn.Module:
    model = model.to(device)
    model.load_state_dict(torch.load(path, map_location=torch.device(device)))
    return model.eval()
