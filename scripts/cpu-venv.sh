#!/usr/bin/env bash
# A CPU-only venv like the one Gradescope's setup.sh builds (autograder/parent/gradescope.py): PyTorch's CPU
# wheels, the five packages setup.sh names, the course installed with --no-deps. CI grades the reference in
# Gradescope's default box (768 MB, 0.5 CPU) with it: tests/test_box.py reads COURSE_CPU_PYTHON.
#
#   scripts/cpu-venv.sh [DIR]        (default: build/cpu-venv; rebuilt from nothing each time)
#
# Where the pair comes from. On a laptop or in Gradescope's image, PyTorch's own CPU index gives both:
#   pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu
# This script uses that index when it answers. CI's machine reaches only PyPI and Debian, and there:
#   - torch: pip's local wheel folder holds torch 2.13.0+cpu (`pip install torch==2.13.0` takes it);
#     PyPI's x86_64 torch wheels are all CUDA builds (gigabytes of nvidia-* packages);
#   - torchvision: PyPI has wheels only (no sdist to build against the CPU torch), and every x86_64 wheel's
#     C++ operators (_C.so: nms, roi_align, ...) link libtorch_cuda.so, so `import torchvision` fails beside
#     a CPU torch ("operator torchvision::nms does not exist"); Debian's python3-torchvision is 0.14 (torch 1.13).
#   So the script installs PyPI's torchvision 0.28.0 (the release paired with torch 2.13) without its CUDA-linked
#   operator library, and declares the two operator schemas that torchvision's import registers fake kernels for
#   (nms, qnms) before torchvision loads (course_cpu_torchvision.pth). The course never calls a torchvision
#   operator (it uses datasets.MNIST, transforms and models.resnet18, all Python); a call to one raises
#   "no kernel for CPU" instead of running.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${1:-$REPO/build/cpu-venv}"
PY="${PYTHON:-python3}"
started=$SECONDS

rm -rf "$DIR"
"$PY" -m venv "$DIR"
PIP=("$DIR/bin/pip" install --quiet --progress-bar off)
if curl --silent --fail --max-time 10 --output /dev/null https://download.pytorch.org/whl/cpu/torchvision/; then
    echo "cpu-venv: PyTorch's CPU index answers: torch and torchvision from it (as Gradescope's setup.sh)"
    "${PIP[@]}" torch torchvision --index-url https://download.pytorch.org/whl/cpu
else
    echo "cpu-venv: PyTorch's CPU index unreachable: torch 2.13.0+cpu from pip's wheel folder, PyPI's torchvision 0.28.0"
    "${PIP[@]}" torch==2.13.0
    "${PIP[@]}" --no-deps torchvision==0.28.0
    SITE="$("$DIR/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
    if ! "$DIR/bin/python" -c 'import torchvision' >/dev/null 2>&1; then
        rm -f "$SITE/torchvision/_C.so"  # links libtorch_cuda.so: cannot load beside a CPU torch
        cat > "$SITE/course_cpu_torchvision.py" <<'PYEOF'
"""Declare torchvision's nms and qnms operators (schemas only) just before torchvision registers their fake kernels.

Installed by scripts/cpu-venv.sh where torchvision's C++ operators (CUDA-linked) cannot load beside a CPU torch.
Costs nothing in a process that never imports torchvision.
"""
import importlib.abc
import sys

SCHEMAS = ("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
           "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_library = None


class _BeforeTorchvisionMeta(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        global _library
        if name == "torchvision._meta_registrations" and _library is None:
            import torch

            if not hasattr(torch.ops.torchvision, "nms"):
                _library = torch.library.Library("torchvision", "FRAGMENT")
                for schema in SCHEMAS:
                    _library.define(schema)
        return None


sys.meta_path.insert(0, _BeforeTorchvisionMeta())
PYEOF
        echo "import course_cpu_torchvision" > "$SITE/course_cpu_torchvision.pth"
    fi
fi
"${PIP[@]}" "numpy>=1.24" "pillow>=9" "pytest>=8" "tqdm>=4.60" "matplotlib>=3.7"
"${PIP[@]}" --no-deps -e "$REPO"
"$DIR/bin/python" - <<'PYEOF'
import torch, torchvision
assert not torch.version.cuda, f"torch {torch.__version__} is a CUDA build"
torchvision.models.resnet18(weights=None).eval()(torch.zeros(1, 3, 32, 32))
print(f"cpu-venv: torch {torch.__version__}, torchvision {torchvision.__version__}, CUDA: none")
PYEOF
echo "cpu-venv: $DIR, $(du -sh "$DIR" | cut -f1), built in $((SECONDS - started)) s"
