# APPEND
# Mutant for the pitfall `device-mismatch`: the reference's load_checkpoint redefined with that one bug.
# 变异体（device-mismatch）：用带这个错误的版本重新定义参考答案中的 load_checkpoint。


def load_checkpoint(path, model: nn.Module, device) -> nn.Module:
    state_dict = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state_dict)
    model = model.cuda()
    model.eval()
    return model
