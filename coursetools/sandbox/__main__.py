"""`python -m coursetools.sandbox --fd N --root SUBMISSION`: the student process of a grading run.

Started by the grading engine inside bubblewrap. It imports torch (with torch._dynamo,
which every optimizer needs, where it preloads anything) and what `--preload` names once, never the submission,
freezes those objects for the collector (the children share them without copying),
caps the data memory a test may add (`--memory-bytes`), then waits for the trusted side:
each `begin` request forks a child that serves that one test (imports the lesson
files, runs the calls, answers with data) and exits at `end`. The child talks on a
channel of its own, passed to the trusted side with SCM_RIGHTS (`{"channel": seq}`),
and never holds this process's: whatever its code writes there ends with the test
(an `abort` of the trusted side kills the child, this process stays warm). When the
child has ended, this process says how (`{"died": status, "test": seq}`: a child that
ends mid-test fails its test at once), kills whatever the test left running in the
sandbox, and waits for the next test. The trusted side believes
nothing it says beyond the data in the replies.

评分时的学生进程：在 bubblewrap 中运行；每个测试 fork 一个子进程执行学生代码，只回传数据。
"""
import argparse
import os
import signal
import socket
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m coursetools.sandbox")
    parser.add_argument("--fd", type=int, required=True, help="the channel to the trusted side")
    parser.add_argument("--root", required=True, help="the submission folder")
    parser.add_argument("--preload", nargs="*", default=[], help="torchvision, mnist")
    parser.add_argument("--mnist", help="the data root to read MNIST from (the grader's copy for this grading)")
    parser.add_argument("--reap", action="store_true", help="kill every other process here after each test "
                        "(only inside a PID namespace of its own)")
    parser.add_argument("--memory-bytes", type=int, default=0, help="data memory a test may allocate beyond what "
                        "this process holds once it has preloaded (0: no limit)")
    args = parser.parse_args(argv)

    import gc

    import numpy  # noqa: F401 (imported ahead so every fork starts warm)
    import torch

    from coursetools.boundary import wire
    from coursetools.boundary.cuda_count import keep_cuda_count

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    keep_cuda_count(torch)  # every Adam step asks NVML otherwise (the engine sets PYTORCH_NVML_BASED_CUDA_CHECK)
    if args.preload:  # the lessons that preload data or torchvision train models (lessons 1, 2, 4 build no optimizer)
        _settle_torch(torch)
    if "torchvision" in args.preload:
        import torchvision  # noqa: F401 (imported ahead so every fork starts warm)
        import torchvision.models  # noqa: F401 (imported ahead so every fork starts warm)
    from coursetools.sandbox.kit import lookup

    lookup("work_dir")  # every lesson's kit, imported once here rather than in every test's child
    _warm_every_test_start(torch)
    if args.mnist:
        lookup("mnist_source")(args.mnist)
    if "mnist" in args.preload:
        try:
            lookup("preload_mnist")()
        except Exception as error:  # the tests that need MNIST say so themselves
            print(f"[sandbox] MNIST not preloaded: {error}", file=sys.stderr)
    gc.collect()
    gc.freeze()  # every test's child shares these objects: its collector leaves them alone (no copy-on-write)
    if args.memory_bytes:
        _limit_data(args.memory_bytes)
    sys.stdout.flush()
    fd = args.fd
    control = socket.socket(fileno=fd)  # the channel to the trusted side: only this process ever holds it
    reader = wire.Reader(fd)
    home = os.getcwd()
    pending = None  # a request that came while a test's child was still leaving
    while True:
        try:
            frame, pending = pending or reader.read(), None
        except (EOFError, OSError, wire.WireError):
            os._exit(0)
        op, seq = _op_of(frame)
        if op != "begin":
            reply = {"ok": None} if op in ("end", "abort") else {"error": {"kind": "protocol",
                                                                          "message": "no test is running"}}
            wire.write_frame(fd, wire.dumps({**reply, "seq": seq}))
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        ours, theirs = socket.socketpair()  # the test's own channel: what its code writes there ends with the test
        pid = os.fork()
        if pid == 0:
            os.close(fd)  # the test's child never holds this process's channel
            ours.close()
            _serve_test(theirs.detach(), frame, args.root, home)
        theirs.close()
        try:
            socket.send_fds(control, [wire.dumps({"channel": seq})], [ours.fileno()])
        except OSError:
            os._exit(0)
        finally:
            ours.close()
        status, pending = _wait_for_test(pid, fd, reader)
        if args.reap:
            _kill_the_rest()
            _empty("/tmp", keep=home)
            _empty("/dev/shm")
        # how the child ended, always: after `end` the trusted side has moved on (it skips this), before it the test
        # fails with this status at once (os._exit(0) included)
        wire.write_frame(fd, wire.dumps({"died": status, "test": seq}))
        os.chdir(home)


def _op_of(frame: bytes) -> tuple:
    """(op, seq) of a request of the trusted side, (None, None) when it is not one."""
    from coursetools.boundary import wire

    try:
        request = wire.loads(frame, decode_handle=lambda handle: handle)
        return request.get("op"), request.get("seq")
    except Exception:
        return None, None


def _wait_for_test(pid: int, fd: int, reader) -> tuple:
    """Wait until the test's child `pid` ends. Meanwhile the trusted side may ask to stop it (`abort`: a timeout, a
    broken reply), or send its next request: the test is over for it, so the child (leaving after `end`, or not) is
    stopped and the request kept for later. Returns (the child's wait status, that request or None); leaves the
    process when the trusted side is gone."""
    import select

    from coursetools.boundary import wire

    try:
        watch = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (Linux < 5.3): look every 50 ms
        watch = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status, None
            ready = [fd] if reader.buffer else select.select([fd] + ([watch] if watch is not None else []), [], [],
                                                             None if watch is not None else 0.05)[0]
            if fd not in ready:
                continue
            try:
                frame = reader.read()
            except (EOFError, OSError, wire.WireError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                os._exit(0)
            os.kill(pid, signal.SIGKILL)
            if _op_of(frame)[0] != "abort":
                return os.waitpid(pid, 0)[1], frame
    finally:
        if watch is not None:
            os.close(watch)


def _settle_torch(torch):
    """Make torch's one-time work now, shared by every test's child: the first optimizer imports torch._dynamo
    (over a second of CPU, and 70 MB that each child would otherwise hold on its own) and wraps its class's step."""
    parameter = torch.zeros(1, requires_grad=True)
    for kind in (torch.optim.SGD, torch.optim.Adam):
        kind([parameter], lr=0.1).step()


def _warm_every_test_start(torch):
    """Do here, once, what every test's child did again at its start (about 30 ms a test on a 2-core machine, seen
    with strace): import the server and numpy.random (its `begin` seeds them), and read into linecache the source
    lines that torch.manual_seed's lazy seeds format into a stack (it queues one, with the stack, per device kind
    that is not initialised)."""
    import linecache

    import numpy.random  # noqa: F401 (imported ahead so every fork starts warm)

    from coursetools.sandbox import server

    torch.manual_seed(0)  # reads torch's own frames into linecache
    linecache.getlines(server.__file__)


def _limit_data(memory_bytes: int):
    """Cap the data memory of this process and of every test child at what it holds now plus `memory_bytes`
    (RLIMIT_DATA, hard too: a test cannot raise it), so a test's share is the same whatever was preloaded."""
    import resource

    with open("/proc/self/status") as status:
        data_now = next((int(line.split()[1]) * 1024 for line in status if line.startswith("VmData:")), 0)
    limit = data_now + memory_bytes
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _serve_test(fd: int, first: bytes, root: str, home: str):
    """The per-test child: serve requests until `end`; always leaves with os._exit."""
    code = 0
    try:
        import tempfile

        from coursetools.boundary import wire
        from coursetools.sandbox.server import Server

        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(tempfile.mkdtemp(prefix="test-", dir=home))
        server = Server(root)
        wire.write_frame(fd, server.serve(first))
        reader = wire.Reader(fd)
        while not server.ended:
            frame = reader.read()
            reply = server.serve(frame)
            sys.stdout.flush()
            sys.stderr.flush()
            wire.write_frame(fd, reply)
    except BaseException as error:
        code = 3
        if not isinstance(error, (EOFError, KeyboardInterrupt)):
            print(f"[sandbox] the test process failed: {type(error).__name__}: {error}", file=sys.stderr)
    finally:
        os._exit(code)


def _empty(folder: str, keep: str = None):
    """Remove what the test left in a scratch folder of the sandbox (its own tmpfs)."""
    import shutil

    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        if keep and os.path.realpath(path) == os.path.realpath(keep):
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _kill_the_rest():
    """Everything a test started (daemons included) dies before the next test (PID namespace of our own)."""
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break


if __name__ == "__main__":
    main()
