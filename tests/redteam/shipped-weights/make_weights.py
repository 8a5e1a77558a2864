"""Write lesson5/train.py of the `shipped-weights` red-team case: SimpleMNISTNet's weights trained here, once, on
the prepared (original) MNIST, embedded as base64 (float16, about 270 KB): what a student could train at home and
ship. Run it from the repository root: `.venv/bin/python tests/redteam/shipped-weights/make_weights.py`.

红队用例 shipped-weights 的生成脚本：在原始 MNIST 上训练一次，把权重以 base64 嵌入 lesson5/train.py。
"""
import base64
import textwrap
from pathlib import Path

import numpy as np
import torch

from coursetools.checks.oracles import accuracy_of, mnist, net, replay_loop

HERE = Path(__file__).resolve().parent


def main():
    torch.set_num_threads(1)
    model = net("mlp", seed=0)
    images, labels = mnist("train")
    replay_loop(model, images, labels, batch_size=64, optimizer=("Adam", {"lr": 1e-3}), epochs=2, shuffle_seed=0)
    state = {k: v.detach().half() for k, v in model.state_dict().items()}
    print("test accuracy (float16 weights):", accuracy_of(net("mlp", {k: v.float() for k, v in state.items()}),
                                                            *mnist("test")))
    raw = b"".join(state[k].numpy().astype(np.float16).tobytes() for k in ("1.weight", "1.bias", "3.weight", "3.bias"))
    lines = textwrap.wrap(base64.b64encode(raw).decode("ascii"), 116)
    weights = "\n".join(f'    "{line}"' for line in lines)
    template = (HERE / "train_template.txt").read_text(encoding="utf-8")
    (HERE / "lesson5" / "train.py").write_text(template.replace("    WEIGHTS_HERE", weights), encoding="utf-8")


if __name__ == "__main__":
    main()
