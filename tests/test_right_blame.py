"""Right blame: torch's own NotImplementedError is never "not implemented yet", and the CUDA stand-in
(NonCpuStandIn) accepts what correct CUDA code does.

正确归因：torch 自己抛出的 NotImplementedError 不是“尚未实现”；CUDA 替身接受正确的 CUDA 写法。
"""
import textwrap

import pytest
import torch

from autograder import overlay
from coursetools import REPO_ROOT
from coursetools.sandbox.kit.lesson1 import NonCpuStandIn
from coursetools.sandbox.server import Server, is_stub_raise

SOURCE = textwrap.dedent('''
    import torch


    def stub(x):
        # YOUR CODE HERE / 在此编写代码
        raise NotImplementedError()


    def logs_labels(labels):
        return labels.tolist()


    def helper_stub():
        return stub(1)
''')


@pytest.fixture()
def server(tmp_path):
    (tmp_path / "lesson5").mkdir()
    (tmp_path / "lesson5" / "train.py").write_text(SOURCE)
    server = Server(str(tmp_path), in_process=True)
    yield server, server._import("lesson5.train")
    Server._active_root = None


def described(server, function, *args):
    try:
        function(*args)
    except NotImplementedError as error:
        return server._describe(error)
    pytest.fail(f"{function.__name__} raised no NotImplementedError")


def test_torch_not_implemented_error_at_a_student_line_is_not_a_stub(server):
    """Check that torch's "Cannot copy out of meta tensor", raised at a line the student wrote, names no stub."""
    server, module = server
    info = described(server, module.logs_labels, torch.zeros(3, device="meta"))
    assert "meta" in info["message"]
    assert info["stub"] is None, info
    assert info["frames"][-1][3] == "return labels.tolist()"


def test_the_stub_line_is_a_stub(server):
    """Check that the stub's own `raise NotImplementedError()` names its function, also when reached through
    another function of the submission."""
    server, module = server
    assert described(server, module.stub, 1)["stub"] == "stub"
    assert described(server, module.helper_stub)["stub"] == "stub"


@pytest.mark.parametrize(("line", "stub"), [("raise NotImplementedError()", True),
                                            ("  raise NotImplementedError  # later", True),
                                            ('raise NotImplementedError("write me")', True),
                                            ("return labels.tolist()", False), ("", False), (None, False),
                                            ("x = NotImplementedError", False)])
def test_is_stub_raise(line, stub):
    """Check which source lines count as the stub's raise."""
    assert is_stub_raise(line) is stub


def test_stand_in_accepts_what_cuda_code_does():
    """Check that a model adopted by the stand-in runs the code CUDA code runs: .to(device), factories on the
    device, .tolist(), .item(), .cpu().numpy(), torch.autocast(device.type), and gives the CPU's values."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    images, labels = torch.randn(5, 2, 2), torch.tensor([0, 1, 2, 0, 1])
    expected = model(images).argmax(1)
    stand_in = NonCpuStandIn()
    stand_in.adopt(model)
    device = torch.device("meta")
    with stand_in:
        assert next(model.parameters()).device.type == "meta"
        x, y = images.to(device), labels.to(device)
        with torch.autocast(device.type):
            outputs = model(x)
        assert outputs.device.type == "meta"
        predictions = outputs.argmax(1)
        correct = torch.zeros((), device=device)
        correct += (predictions == y).sum()
        assert y.tolist() == labels.tolist()
        assert predictions.cpu().numpy().tolist() == expected.tolist()
        assert (outputs.argmax(1).cpu() == labels).sum().item() == (expected == labels).sum().item()
        assert correct.item() == (expected == labels).sum().item()
        with pytest.raises(TypeError, match="numpy"):  # as on CUDA: .numpy() needs .cpu() first
            predictions.numpy()
    with pytest.raises(RuntimeError):  # the stand-in's autocast is off again outside it
        torch.autocast("meta")


BLAME = REPO_ROOT / "tests" / "blame"


@pytest.fixture(scope="module")
def blamed(tmp_path_factory):
    """{name: results.json} for tests/blame/*: wrong code that no pitfall of the table describes."""
    return overlay.grade_overlays(BLAME, overlay.overlay_names(BLAME), tmp_path_factory.mktemp("blame"),
                                  "--lessons", "5", "6")


@pytest.mark.slow
def test_a_loss_divided_twice_fails_with_no_pitfall(blamed):
    """Check that a loss divided by the batch size twice (weights barely move) loses lesson 5's loop tests and is
    tagged with no pitfall: not step-before-backward, whose replay never moves the weights."""
    result = blamed["loss-divided-twice"]
    failed = [t for t in result["tests"] if t["status"] == "failed"]
    assert any("train_one_epoch_matches_the_reference_loop" in t["name"] for t in failed), result["output"]
    assert not [t["tags"] for t in result["tests"] if t["tags"]]
    assert all(t["status"] == "passed" for t in result["tests"] if t["name"].startswith("lesson6/"))


@pytest.mark.slow
def test_saving_next_to_the_submission_says_where_to_write(blamed):
    """Check that saving into the read-only graded copy fails with why and where to write, in both languages."""
    result = blamed["save-next-to-own-file"]
    failed = [t for t in result["tests"] if t["status"] == "failed"]
    assert failed and all("save_checkpoint" in t["output"] for t in failed)
    for test in failed:
        text = test["output"]
        assert "read-only" in text and "只读" in text and text.count("tempfile.TemporaryDirectory()") == 2, text
        assert "inline_container" not in text and not test["tags"], text


def test_without_its_source_line_only_a_bare_not_implemented_error_is_a_stub():
    """Check code run without a readable source (exec'd cells): the stub's bare NotImplementedError() is the stub,
    torch's (which always has a message) is not."""
    assert is_stub_raise("", NotImplementedError()) and is_stub_raise(None, NotImplementedError())
    assert not is_stub_raise("", NotImplementedError("Cannot copy out of meta tensor; no data!"))
    assert not is_stub_raise(None, RuntimeError())
