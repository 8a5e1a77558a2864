"""The reference pipeline on all of MNIST: train_mnist(…, epochs=2) reaches 0.95 (run once, about a minute)."""
import pytest

import course_data
from coursetools import REPO_ROOT

pytestmark = [pytest.mark.mnist, pytest.mark.slow]


def test_reference_train_mnist_reaches_95_percent(monkeypatch):
    """Check the whole reference pipeline of lessons 3 to 5 on real MNIST."""
    monkeypatch.syspath_prepend(str(REPO_ROOT / "solutions"))  # train_mnist imports lesson3.data, lesson4.model
    from solutions.lesson5.train import train_mnist

    model, accuracy = train_mnist(course_data.require_mnist(), epochs=2, device="cpu", seed=0)
    print(f"reference train_mnist: test accuracy {accuracy:.4f}")
    assert accuracy >= 0.95, f"reference train_mnist reached only {accuracy:.4f}"


def _copies(tmp_path, *names):
    """The grader's changed copies written at tmp_path/name, with the test-split arrays each gave the trusted side;
    this process's MNIST is left as it was."""
    from coursetools.checks import mnist as checks_mnist
    from coursetools.checks import oracles

    saved, made = dict(oracles._MNIST), []
    try:
        for name in names:
            root = checks_mnist.changed_copy(tmp_path / name)
            images, labels = oracles.mnist("test")
            made.append((root, images.raw.numpy(), labels.numpy()))
    finally:
        oracles._MNIST.clear()
        oracles._MNIST.update(saved)
        checks_mnist._GRADING["root"] = None
    return made


def test_changed_copy_is_mnist_with_pixels_and_labels_moved_in_secret(tmp_path):
    """Check the grader's copy (coursetools.checks.mnist.changed_copy): torchvision loads it as the trusted side holds
    it, every image keeps the original's pixels in another order, every class gets another label (one relabelling),
    and two gradings draw different changes."""
    import numpy as np
    import torchvision

    (root, images, labels), (_, again, relabelled) = _copies(tmp_path, "first", "second")
    image, label = torchvision.datasets.MNIST(str(root), train=False, download=False)[7]
    assert np.array_equal(np.asarray(image), images[7]) and label == labels[7]
    original, original_labels = course_data.load_mnist_arrays(train=False)
    flat, changed = original.reshape(len(original), -1), images.reshape(len(images), -1)
    assert np.array_equal(np.sort(flat, axis=1), np.sort(changed, axis=1)), "the pixels are not the original ones"
    assert (flat != changed).any(axis=1).mean() > 0.99, "the pixel order was not changed"
    mapping = {int(a): int(b) for a, b in zip(original_labels, labels)}
    assert len(mapping) == 10 and sorted(mapping.values()) == list(range(10)), f"not one relabelling: {mapping}"
    assert all(a != b for a, b in mapping.items()), f"a class kept its label: {mapping}"
    assert not (np.array_equal(again, images) and np.array_equal(relabelled, labels)), "two gradings drew alike"


@pytest.mark.slow
def test_reference_train_mnist_reaches_95_percent_on_a_changed_copy(monkeypatch, tmp_path):
    """Check that the whole reference pipeline reaches the bar on the grader's secretly changed copy of MNIST too."""
    monkeypatch.syspath_prepend(str(REPO_ROOT / "solutions"))
    from solutions.lesson5.train import train_mnist

    (root, _, _), = _copies(tmp_path, "copy")
    model, accuracy = train_mnist(root, epochs=2, device="cpu", seed=0)
    print(f"reference train_mnist on a changed copy: test accuracy {accuracy:.4f}")
    assert accuracy >= 0.95, f"reference train_mnist reached only {accuracy:.4f} on the changed copy"
