"""coursetools.checks.diagnosis against the messages torch and torchvision really raise here.

Each message is produced with the installed libraries (or, for the CUDA ones a CPU machine cannot
raise, read from torch's own sources), so an upgrade that rewords one fails here, not silently in a
student's feedback.

诊断表对照本机 torch/torchvision 实际抛出的错误信息进行测试。
"""
import io
import mmap
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from coursetools.checks import diagnosis
from coursetools.checks.feedback import PITFALLS


def raised(function) -> BaseException:
    try:
        function()
    except BaseException as error:  # noqa: B036 - any exception is what we want to read
        return error
    pytest.fail(f"{function} raised nothing")


def slug_of(error):
    found = diagnosis.diagnose_error(error)
    return found.slug if found else "(none)"


def test_numpy_on_a_tensor_that_requires_grad():
    error = raised(lambda: torch.ones(2, requires_grad=True).numpy())
    assert slug_of(error) == "numpy-on-grad-or-cuda"


def test_numpy_on_a_tensor_off_the_cpu():
    error = raised(lambda: torch.ones(2, device="meta").numpy())
    assert slug_of(error) == "numpy-on-grad-or-cuda"
    # the CUDA form of the same message, as torch builds it
    assert slug_of(TypeError(str(error).replace("meta", "cuda:0"))) == "numpy-on-grad-or-cuda"


def test_view_on_a_non_contiguous_tensor():
    assert slug_of(raised(lambda: torch.ones(2, 3).t().view(6))) == "view-non-contiguous"


def test_backward_twice():
    def twice():
        x = torch.ones(2, requires_grad=True)
        y = (x * x).sum()
        y.backward()
        y.backward()
    assert slug_of(raised(twice)) == "double-backward"


def test_backward_on_a_non_scalar():
    error = raised(lambda: (torch.ones(2, requires_grad=True) * 2).backward())
    assert slug_of(error) == "step-before-backward"


def test_step_between_forward_and_backward():
    def step_first():
        w = torch.ones(2, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=0.1)
        loss = (w * w).sum()
        w.grad = torch.ones(2)
        optimizer.step()
        loss.backward()
    assert slug_of(raised(step_first)) == "step-before-backward"


def _torch_file(relative: str) -> str:
    return (Path(torch.__file__).parent / relative).read_text(encoding="utf-8")


def _in_torch_library(text: str) -> bool:
    with open(Path(torch.__file__).parent / "lib" / "libtorch_cpu.so", "rb") as file:
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return data.find(text.encode()) >= 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA machine does not raise it")
def test_cuda_asked_for_where_there_is_none():
    error = raised(lambda: torch.ones(1).cuda())
    found = diagnosis.diagnose_error(error)
    assert found.slug == "device-mismatch" and ".to(device)" in found.hint_en and ".cuda()" in found.hint_en
    assert found.shown_en and "NVIDIA" not in found.shown_en


@pytest.mark.parametrize("text, source", [
    ("Cannot re-initialize CUDA in forked subprocess", "cuda/__init__.py"),
    ("Torch not compiled with CUDA enabled", "cuda/__init__.py"),
    ("No CUDA GPUs are available", None),
])
def test_cuda_messages_a_cpu_machine_cannot_raise(text, source):
    """Read from torch itself; the grader's own process model (fork) is never shown: replaced by shown_en."""
    assert (text in _torch_file(source)) if source else _in_torch_library(text)
    found = diagnosis.diagnose("RuntimeError", f"{text}. To use CUDA with multiprocessing, you must use 'spawn'")
    assert found.slug == "device-mismatch"
    assert found.shown_en and "fork" not in found.shown_en and "spawn" not in found.shown_en
    assert found.shown_zh and "fork" not in found.shown_zh


def test_tensors_on_two_devices():
    error = raised(lambda: torch.ones(2) + torch.ones(2, device="meta"))
    assert slug_of(error) == "device-mismatch"
    assert slug_of(raised(lambda: torch.nn.Linear(2, 2)(torch.ones(1, 2, device="meta")))) == "device-mismatch"
    assert _in_torch_library("Expected all tensors to be on the same device, but found at least two devices")
    assert slug_of(RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                                "cuda:0 and cpu!")) == "device-mismatch"


def test_input_and_weight_types():
    """A dtype mismatch is not a device mismatch; the CUDA form of the message is."""
    error = raised(lambda: torch.nn.Conv2d(1, 2, 3)(torch.ones(1, 1, 5, 5, dtype=torch.float64)))
    found = diagnosis.diagnose_error(error)
    assert found is not None and found.slug is None and "float32" in found.hint_en
    assert _in_torch_library("Input type (")
    cuda_form = "Input type (torch.FloatTensor) and weight type (torch.cuda.FloatTensor) should be the same"
    assert slug_of(RuntimeError(cuda_form)) == "device-mismatch"


def test_checkpoint_saved_on_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("a CUDA machine restores it")
    error = raised(lambda: torch.serialization.default_restore_location(torch.UntypedStorage(4), "cuda:0"))
    assert slug_of(error) == "checkpoint-format"


def test_checkpoint_of_a_whole_model():
    buffer = io.BytesIO()
    torch.save(torch.nn.Linear(2, 2), buffer)
    buffer.seek(0)
    error = raised(lambda: torch.load(buffer))
    found = diagnosis.diagnose_error(error)
    assert found.slug == "checkpoint-format" and "state_dict" in found.hint_en


def test_a_batch_of_grey_images_without_channel_dim():
    error = raised(lambda: torch.nn.Conv2d(1, 4, 3)(torch.ones(8, 28, 28)))
    assert slug_of(error) == "missing-channel-dim"
    flat = raised(lambda: torch.nn.Conv2d(1, 4, 3)(torch.ones(8, 784).reshape(8, 784)))  # flattened too early
    found = diagnosis.diagnose_error(flat)
    assert found is not None and found.slug is None and "(N, 1, 28, 28)" in found.hint_en


def test_transforms_in_the_wrong_order():
    from PIL import Image
    from torchvision import transforms

    image = Image.new("L", (28, 28))
    normalize_first = diagnosis.diagnose_error(raised(lambda: transforms.Normalize((0.5,), (0.5,))(image)))
    assert normalize_first.slug is None and "ToTensor() must come first" in normalize_first.hint_en
    twice = diagnosis.diagnose_error(raised(lambda: transforms.ToTensor()(transforms.ToTensor()(image))))
    assert twice.slug is None and "twice" in twice.hint_en


def test_update_of_a_leaf_outside_no_grad():
    def update():
        w = torch.ones(2, requires_grad=True)
        w -= 0.1
    found = diagnosis.diagnose_error(raised(update))
    assert found.slug is None and "torch.no_grad()" in found.hint_en


def test_backward_of_something_without_grad():
    found = diagnosis.diagnose_error(raised(lambda: torch.ones(2).sum().backward()))
    assert found.slug is None and "requires_grad=True" in found.hint_en


def test_unknown_messages_and_the_table():
    assert diagnosis.diagnose("ValueError", "not enough values to unpack (expected 2, got 0)") is None
    for rule in diagnosis.RULES:
        assert rule.slug is None or rule.slug in PITFALLS
        assert rule.slug or (rule.hint_en and rule.hint_zh), rule.pattern
        assert bool(rule.hint_en) == bool(rule.hint_zh) and bool(rule.shown_en) == bool(rule.shown_zh)


def test_what_was_called_on_what():
    text = diagnosis.describe_call("evaluate", (torch.ones(2, 3), [torch.ones(1)], "cpu"), {"lr": 0.1})
    assert text == "evaluate(<tensor (2, 3)>, [<tensor (1,)>], 'cpu', lr=0.1)"
    assert len(diagnosis.describe_call("f", (list(range(100)), "x" * 500))) <= 110


@pytest.mark.skipif(not shutil.which("bwrap"), reason="bubblewrap makes the read-only file system")
def test_saving_into_the_read_only_submission_copy(tmp_path):
    """torch.save and open() into a read-only folder (bubblewrap's --ro-bind, as the graded copy is): the hint
    says why (the copy is read-only) and where to write instead, in both languages."""
    script = ("import torch\n"
              "for save in (lambda p: torch.save({{}}, p), lambda p: open(p, 'wb')):\n"
              "    try:\n        save({!r})\n    except Exception as error:\n"
              "        print(type(error).__name__ + '|' + str(error))\n").format(str(tmp_path / "model.pt"))
    run = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", sys.executable, "-c",
                          script], capture_output=True, text=True, timeout=120)
    errors = [line.split("|", 1) for line in run.stdout.splitlines() if "|" in line]
    assert len(errors) == 2 and all("Read-only file system" in message for _, message in errors), run
    for type_name, message in errors:
        found = diagnosis.diagnose(type_name, message)
        assert found is not None and found.slug is None, message
        for words in (("read-only", "只读"), ("Path(__file__).parent",) * 2, ("save_checkpoint's `path`",
                      "save_checkpoint 的 `path`"), ("tempfile.TemporaryDirectory()",) * 2):
            assert words[0] in found.hint_en and words[1] in found.hint_zh, (words, found)
    torch_save = diagnosis.diagnose(*errors[0])
    assert "enforce fail" in errors[0][1] and torch_save.shown_en and "inline_container" not in torch_save.shown_en
