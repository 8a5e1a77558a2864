"""One CUDA device count per process where torch counts devices through NVML (the grading engine's processes).

The grading engine sets PYTORCH_NVML_BASED_CUDA_CHECK=1, so that asking whether CUDA is there does not initialise
CUDA in a process that forks (the grading parent, the student process). torch then loads NVML and asks it again at
every torch.cuda.is_available(), and every Adam step asks (its graph-capture check): about 0.15 ms a step on a
2-core machine, a second or more in one grading. Nothing here changes the devices a process sees during its life, so
`keep_cuda_count` keeps torch's first NVML answer.

评分进程中每个进程只用 NVML 数一次 CUDA 设备：否则每一步 Adam 都会重新加载 NVML。
"""
import functools


def keep_cuda_count(torch) -> bool:
    """Make torch's NVML device count answer once per process (the first answer kept); False where this torch
    has no such count (then nothing is changed)."""
    count = getattr(getattr(torch, "cuda", None), "_device_count_nvml", None)
    if count is None or hasattr(count, "cache_info"):
        return count is not None
    torch.cuda._device_count_nvml = functools.lru_cache(maxsize=1)(count)
    return True
