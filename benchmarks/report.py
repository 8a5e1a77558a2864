"""The benchmark's table and chart: one row per figure, with its goal and whether it is met.

基准结果的表格与图表：每个数字一行，附目标及是否达到。
"""
from coursetools.lessons import BY_NUMBER

GIB = 1024


def rows(f: dict) -> list:
    """[{'item', 'what', 'value', 'unit', 'goal', 'met'}] from the figures of benchmarks/run.py."""
    out = []

    def add(item, what, value, unit, goal="", met=None):
        out.append({"item": item, "what": what, "value": round(value, 3), "unit": unit, "goal": goal, "met": met})

    a = f.get("a_lower_bound")
    if a:
        add("a1", "lower bound, fresh process (start, import torch, load MNIST, 2 epochs Adam, eval)", a["process_s"], "s")
        add("a2", "lower bound, training loop alone (in process, 1 thread)", a["train_s"], "s")
    b = f.get("b_naive_pipeline")
    if b:
        add("b1", "naive PIL pipeline, fresh process", b["process_s"], "s")
        add("b2", "naive PIL pipeline, training loop alone", b["train_s"], "s")
        if a:
            add("b1/a1", "naive pipeline / lower bound (fresh processes)", b["process_s"] / a["process_s"], "x")
            add("b2/a2", "naive pipeline / lower bound (training loops)", b["train_s"] / a["train_s"], "x")
    c = f.get("c_grade_solutions")
    if c:
        add("c", "python -m autograder grade solutions (all 6 lessons)", c["seconds"], "s")
        if a:
            ratio = c["seconds"] / a["process_s"]
            add("c/a1", "full grading / fresh-process lower bound (THE GOAL)", ratio, "x", "<= 1.5", ratio <= 1.5)
            add("c/a2", "full grading / training loop alone (informative)", c["seconds"] / a["train_s"], "x")
    if "d_nbgrader_lesson5_s" in f:
        nb, ours = f["d_nbgrader_lesson5_s"], f["d_grade_lesson5"]["seconds"]
        add("d1", "nbgrader autograde lesson5 (solved)", nb, "s")
        add("d2", "python -m autograder grade solutions --lessons 5", ours, "s")
        # nbgrader's autograde scores through the engine (autograder/parent/notebooks.py): what it adds on top of
        # the engine alone is nbgrader's own work (gradebook, sanitising, extracting the notebook's code).
        add("d1/d2", "nbgrader autograde / the engine alone on lesson 5 (nbgrader's overhead)", nb / ours, "x",
            "<= 1.5", nb / ours <= 1.5)
    e = f.get("e_batch8")
    if e:
        one, two = e["workers1"]["seconds"], e["workers2"]["seconds"]
        add("e1", "batch of 8 solutions, --workers 1", one, "s")
        add("e2", "batch of 8 solutions, --workers 2", two, "s")
        add("e2/e1", "2 workers / 1 worker", two / one, "x", "<= 0.6", two / one <= 0.6)
    m = f.get("f_memory")
    if m:
        add("f1", "peak PSS of one worker (lesson process + its test children)", m["worker_pss_mib"] / GIB, "GiB",
            "<= 1.5", m["worker_pss_mib"] / GIB <= 1.5)
        add("f2", "peak PSS of the whole grading tree (engine + 2 workers)", m["tree_pss_mib"] / GIB, "GiB")
        add("f3", "largest single-process RSS (ru_maxrss of RUSAGE_CHILDREN)", m["maxrss_mib"] / GIB, "GiB",
            "<= 1.5", m["maxrss_mib"] / GIB <= 1.5)
    for lesson, seconds in (f.get("g_student_wait_s") or {}).items():
        lesson = int(lesson)
        # 3 s; lessons whose public tests check real MNIST: as fast as those checks allow
        goal = 3.0 if lesson in BY_NUMBER and not BY_NUMBER[lesson].public_mnist else None
        add(f"g{lesson}", f"pytest exercises/lesson{lesson} --submission solutions", seconds, "s",
            f"<= {goal}" if goal else "real-data checks", seconds <= goal if goal else None)
    h = f.get("h_boundary")
    if h:
        add("h1", "one call in process (scalar_tensor), through the wire format", h["in_process"]["scalar_call_us"], "us")
        add("h2", "one call through the sandbox (scalar_tensor)", h["sandbox"]["scalar_call_us"], "us")
        add("h3", "one call through the sandbox, a (64, 1, 28, 28) batch", h["sandbox"]["batch_64x784_call_us"], "us")
        add("h4", "student process start (bubblewrap, Python, torch)", h["sandbox_start_s"], "s")
        add("h5", "one test's student child (fork, begin, end)", h["per_test_fork_ms"], "ms")
    return out


def table(f: dict, rs: list) -> str:
    lines = [f"machine: {f['cpu_cores']} CPU cores; load average at start {_load(f['load_start'])}, "
             f"at end {_load(f['load_end'])}; best of {f['runs']} (b, d1, e, f: 1 run); total {f['total_s']:.0f} s",
             f"{'item':7} {'figure':86} {'value':>9} {'unit':4} {'goal':>17}  met"]
    for r in rs:
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        lines.append(f"{r['item']:7} {r['what'][:86]:86} {r['value']:9.2f} {r['unit']:4} {r['goal']:>17}  {met}")
    return "\n".join(lines)


def _load(load) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def chart(rs: list, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [("seconds", [r for r in rs if r["unit"] == "s"]), ("ratios (x)", [r for r in rs if r["unit"] == "x"]),
              ("memory (GiB)", [r for r in rs if r["unit"] == "GiB"])]
    groups = [(title, g) for title, g in groups if g]
    fig, axes = plt.subplots(len(groups), 1, figsize=(10, 2 + 0.35 * len(rs)), squeeze=False,
                             gridspec_kw={"height_ratios": [max(1, len(g)) for _, g in groups]})
    for ax, (title, group) in zip(axes[:, 0], groups):
        labels = [f"{r['item']} {r['what'][:60]}" for r in group]
        colors = ["tab:green" if r["met"] else "tab:red" if r["met"] is False else "tab:blue" for r in group]
        ax.barh(labels, [r["value"] for r in group], color=colors)
        for y, r in enumerate(group):
            ax.text(r["value"], y, f" {r['value']:.2f} {r['goal']}", va="center", fontsize=7)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("Grading benchmark (green: goal met, red: missed)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
