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
