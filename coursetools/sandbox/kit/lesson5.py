"""Kit functions of lesson 5 (training loop): a stand-in for a CUDA device on machines without one.

`stand_in_device(model)` moves a network to the `meta` device under a NonCpuStandIn, so the
student's loop meets tensors on a device that is not the CPU, yet `.tolist()`, `.item()`,
`.cpu().numpy()` and `torch.autocast(device.type)` work as they do on CUDA. What it observes
(where the model and the loss were fed) may only name a pitfall or fail a test.

第 5 课的工具：在没有 CUDA 的机器上，用 meta 设备代替 CUDA 设备，并让 `.tolist()`、`.item()`、
`.cpu().numpy()` 和 `torch.autocast(device.type)` 照常工作；观察结果只能用来判定失败。
"""
from coursetools.sandbox.kit import kit
from coursetools.sandbox.kit.lesson1 import NonCpuStandIn


class StandInDevice:
    """A network on the stand-in device; `run(function, *args)` calls `function` with the stand-in on."""

    def __init__(self, model):
        self.mode = NonCpuStandIn()
        self.model = self.mode.adopt(model)

    def run(self, function, *args):
        with self.mode:
            return function(*args)


@kit
def stand_in_device(model):
    return StandInDevice(model)
