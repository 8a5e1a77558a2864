"""Features of the reference that the graders do not score (CURRICULUM: graders call
build_finetune_model with weights=None only), kept working for instructors."""
import pytest
import torch
from torch import nn
from torchvision import models

from solutions.lesson6.advanced import build_finetune_model


@pytest.mark.parametrize("as_text", [True, False], ids=["str", "Path"])
def test_reference_build_finetune_model_loads_a_local_weights_file(tmp_path, as_text):
    """Check weights=<path of a saved resnet18 state_dict>: backbone from the file, a fresh head, nothing downloaded."""
    torch.manual_seed(7)
    source = models.resnet18(weights=None)
    path = tmp_path / "resnet18_weights.pth"
    torch.save(source.state_dict(), path)
    model = build_finetune_model(num_classes=6, weights=str(path) if as_text else path)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[name], value) for name, value in source.state_dict().items()
               if not name.startswith("fc.")), "backbone tensors differ from the weights file"
    assert isinstance(model.fc, nn.Linear) and (model.fc.in_features, model.fc.out_features) == (512, 6)
    assert [name for name, p in model.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
