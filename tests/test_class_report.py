"""Check the class report (`python -m autograder report`, written at the end of `batch` and `merge`).

Unit tests of the figures on hand-made results.json dicts (discrimination, not attempted vs failed,
who to help, grader health, pitfalls); then a small class (the reference, the stubs, a few mutants of
tests/mutants/, a hostile folder name) graded with `batch` on lessons 1 and 2: summary.json checked
against counts computed directly from the results.json files, the page opened in headless Chromium
(rendered, pitfall table in the DOM, nothing unescaped, a screenshot: COURSE_REPORT_SCREENSHOT=path
keeps a copy), and the same figures from an nbgrader export CSV plus autograded notebooks.
With CI=true a missing Chromium fails; elsewhere it skips.

检查班级报告：手工构造的结果上的各项指标；一个小班级（参考答案、练习桩、若干变异体、恶意文件夹名）
批量评分后 summary.json 与直接从 results.json 计算的数字一致；用无头 Chromium 打开页面并截图。
"""
import csv
import html
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import overlay
from autograder.parent import classreport, results
from coursetools import REPO_ROOT
from coursetools.checks.feedback import PITFALLS

MUTANTS = REPO_ROOT / "tests" / "mutants"
HOSTILE = '<img src=x onerror=alert(1)>&amp;"'  # a student folder name: must reach the page as text


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def chromium() -> str:
    found = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    if found is None:
        message = "headless Chromium is not installed (Debian package `chromium`, installed by .ci/run)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


# ------------------------------------------------------------------ hand-made results

def t(name: str, passed: bool = True, lesson: int = 1, exercise: str = None, pitfalls=(), stub: bool = False,
      output: str = "", points: float = 1.0) -> dict:
    """One test of a results.json."""
    return {"name": f"lesson{lesson}/test_x.py::{name}", "score": points if passed else 0.0, "max_score": points,
            "status": "passed" if passed else "failed",
            "output": output or ("" if passed else "not implemented yet" if stub else f"{name} failed"),
            "tags": [f"pitfall:{p}" for p in pitfalls],
            "extra_data": {"lesson": lesson, "exercise": exercise or name.split("_")[1],
                           "not_implemented": (exercise or name.split("_")[1]) if stub else None}}


def student(name: str, tests: list, finished=True, complete=True, isolated=True, errors=()) -> dict:
    score = sum(x["score"] for x in tests)
    top = sum(x["max_score"] for x in tests)
    lessons = {}
    for x in tests:
        entry = lessons.setdefault(str(x["extra_data"]["lesson"]), {"score": 0.0, "max_score": 0.0, "error": None,
                                                                     "isolation": "bubblewrap sandbox"})
        entry["score"] += x["score"]
        entry["max_score"] += x["max_score"]
        if not isolated:
            entry["isolation"] = "NOT ISOLATED (no bwrap)"
    data = {"score": score, "max_score": top, "tests": tests,
            "extra_data": {"submission": name, "folder": name, "finished": finished, "complete": complete,
                           "errors": list(errors), "isolated": isolated, "lessons": lessons}}
    return {"name": name, "folder": name, "data": data, "error": ""}


def six_students() -> list:
    """Totals 100, 90, 80, 40, 30, 0 % of 10 tests; test_a_one passed by the top two and one of the bottom two."""
    def one(name, passes, special_a):
        tests = [t("test_a_one", special_a, exercise="a")]
        tests += [t(f"test_b_{i}", i < passes - special_a, exercise="b") for i in range(9)]
        return student(name, tests)
    return [one("s100", 10, True), one("s90", 9, True), one("s80", 8, False), one("s40", 4, False),
            one("s30", 3, True), one("s00", 0, False)]


def test_discrimination_is_the_pass_rate_in_the_top_third_minus_the_bottom_third():
    """Check the ranking by total and the thirds: 2 of 6 on top, 2 at the bottom."""
    summary = classreport.summarise(six_students())
    item = next(i for i in summary["items"] if i["test"].endswith("::test_a_one"))
    assert (item["passed"], item["students"]) == (3, 6)
    assert (item["top_pass_rate"], item["bottom_pass_rate"], item["discrimination"]) == (1.0, 0.5, 0.5)
    assert summary["class"]["total_percent"]["median"] == 60.0
    two = classreport.summarise(six_students()[:2])
    assert two["items"][0]["discrimination"] is None  # fewer than three students: no thirds


def test_flags_tests_nobody_passes_and_tests_everybody_passes():
    """Check `hard` (at most 10 % of those who attempted it pass) and `easy` (everybody passes)."""
    students = [student(f"s{i}", [t("test_e_ok", exercise="e"), t("test_h_bad", False, exercise="h"),
                                  t("test_m_mid", i % 2 == 0, exercise="m")]) for i in range(4)]
    students.append(student("stub", [t("test_e_ok", exercise="e"), t("test_h_bad", False, exercise="h", stub=True),
                                     t("test_m_mid", False, exercise="m", stub=True)]))
    flags = {i["test"].split("::")[1]: i["flag"] for i in classreport.summarise(students)["items"]}
    assert flags == {"test_e_ok": "easy", "test_h_bad": "hard", "test_m_mid": None}
    mid = next(i for i in classreport.summarise(students)["items"] if i["test"].endswith("test_m_mid"))
    assert (mid["students"], mid["attempted"], mid["passed"]) == (5, 4, 2)
    assert mid["pass_rate_attempted"] == 0.5 and mid["pass_rate"] == 0.4


def test_not_attempted_is_apart_from_attempted_and_failed():
    """Check the exercise counts: a stub (or a missing file) is not attempted; a wrong answer is attempted, failed."""
    missing = "lesson1/tensors.py is missing from the submission: create it"
    students = [student("ok", [t("test_a_1", exercise="a"), t("test_a_2", exercise="a")]),
                student("wrong", [t("test_a_1", exercise="a"), t("test_a_2", False, exercise="a")]),
                student("stub", [t("test_a_1", False, exercise="a", stub=True),
                                 t("test_a_2", False, exercise="a", stub=True)]),
                student("nofile", [t("test_a_1", False, exercise="a", output=missing),
                                   t("test_a_2", False, exercise="a", output=missing)])]
    [row] = classreport.summarise(students)["exercises"]
    assert (row["passed"], row["failed"], row["not_attempted"]) == (1, 1, 2)
    assert row["failed_students"] == ["wrong"] and row["not_attempted_students"] == ["nofile", "stub"]


def test_who_to_help_lists_students_below_the_threshold_with_their_first_failing_exercise():
    """Check the threshold, the order (lowest first) and the first failing exercise in course order."""
    students = [
        student("fine", [t("test_scalar_tensor_x", lesson=1, exercise="scalar_tensor"),
                         t("test_square_grad_x", lesson=2, exercise="square_grad")]),
        student("late", [t("test_scalar_tensor_x", lesson=1, exercise="scalar_tensor"),
                         t("test_filled_x", False, lesson=1, exercise="filled", pitfalls=["device-mismatch"],
                           output="[lesson1 filled] wrong\nmore"),
                         t("test_vector_from_list_x", False, lesson=1, exercise="vector_from_list", stub=True),
                         t("test_square_grad_x", False, lesson=2, exercise="square_grad")]),
        student("none", [t("test_scalar_tensor_x", False, lesson=1, exercise="scalar_tensor", stub=True),
                         t("test_square_grad_x", False, lesson=2, exercise="square_grad", stub=True)]),
    ]
    helped = classreport.summarise(students, threshold=50)["help"]
    assert [h["student"] for h in helped] == ["none", "late"]
    first = helped[1]["first_failing"]
    # vector_from_list comes before filled in lesson 1 (the reference's order)
    assert (first["lesson"], first["exercise"], first["status"]) == (1, "vector_from_list", "not_attempted")
    assert helped[0]["first_failing"]["exercise"] == "scalar_tensor"
    assert classreport.summarise(students, threshold=0)["help"] == []


def test_grader_health_counts_incomplete_gradings_not_isolated_runs_and_timeouts():
    """Check not graded, unfinished, grader errors, NOT ISOLATED and timeouts; unfinished ones are not scored."""
    timeout = "[lesson1 filled] timed out after 12 s: the test was stopped."
    students = [student("ok", [t("test_a_1", exercise="a")]),
                student("slow", [t("test_a_1", False, exercise="a", output=timeout)], isolated=False),
                student("broken", [t("test_a_1", False, exercise="a")], complete=False, errors=["lesson1: crashed"]),
                student("partial", [t("test_a_1", False, exercise="a", output="not graded yet: ...")],
                        finished=False, complete=False),
                {"name": "absent", "folder": "absent", "data": None, "error": "not graded"}]
    summary = classreport.summarise(students)
    health = summary["health"]
    assert health["counts"] == {"not_graded": 1, "unfinished": 1, "errors": 1, "not_isolated": 1, "timeouts": 1}
    assert health["incomplete"] == 3
    assert health["timeouts"][0]["student"] == "slow" and health["not_isolated"][0]["lessons"] == [1]
    assert health["errors"][0]["errors"] == ["lesson1: crashed"]
    assert (summary["class"]["students"], summary["class"]["graded"]) == (5, 3)


def test_grader_health_groups_timeouts_by_student_and_function():
    """Check that one looping function is one grader-health row per student, however many of its tests timed out."""
    first = "[lesson1] filled ran longer than 60 s and was stopped: an endless loop, or work that grows too fast?"
    later = "[lesson1] filled was not called in this test: it ran past its time limit 3 times in earlier tests"
    looping = [t(f"test_filled_{i}", False, exercise="filled", output=first if i == 0 else later) for i in range(17)]
    looping.append(t("test_multiply_1", False, exercise="multiply", output="[lesson1 multiply] timed out after 60 s"))
    students = [student("loop", looping + [t("test_a_1", exercise="a")]),
                student("other", [t("test_filled_0", False, exercise="filled", output=first)])]
    health = classreport.summarise(students)["health"]
    rows = [(x["student"], x["lesson"], x["exercise"], x["count"]) for x in health["timeouts"]]
    assert rows == [("loop", 1, "filled", 17), ("loop", 1, "multiply", 1), ("other", 1, "filled", 1)]
    assert health["counts"]["timeouts"] == 3 and len(health["timeouts"][0]["tests"]) == 17
    page = classreport.render_html(classreport.summarise(students), {}, "class")
    assert page.count("lesson1 filled, 17 test(s)") == 1


def test_a_failure_is_filed_under_the_function_its_message_names():
    """Check that a lesson 5 test owned by `evaluate` that failed in `train_one_epoch` counts against the latter."""
    def real(name, passed, output="", stub=None):
        return {"name": f"lesson5/test_train.py::{name}", "score": float(passed), "max_score": 1.0,
                "status": "passed" if passed else "failed", "output": output, "tags": [],
                "extra_data": {"lesson": 5, "not_implemented": stub}}

    bar = "test_train_one_epoch_and_evaluate_reach_95_percent"  # owned by evaluate (the last function it calls)
    assert classreport.exercise_key(real(bar, True))[2] == "evaluate"
    blamed = [real(bar, False, "[lesson5 train_one_epoch] after 2 epochs the accuracy is 0.11; expected 0.95.\n"
                               "[第5课 train_one_epoch] ..."),
              real("test_evaluate_counts_samples_not_batches", True),
              real("test_evaluate_gives_accuracy_without_grad_in_eval_mode", True),
              real("test_train_one_epoch_matches_the_reference_loop", True),
              real("test_train_mnist_runs_the_whole_pipeline", False, "[lesson5 no_such_function] failed")]
    summary = classreport.summarise([student("ann", blamed)], threshold=100)
    exercises = {x["exercise"]: (x["passed"], x["failed"]) for x in summary["exercises"]}
    assert exercises == {"train_one_epoch": (0, 1), "evaluate": (1, 0), "train_mnist": (0, 1)}
    assert summary["help"][0]["first_failing"]["exercise"] == "train_one_epoch"
    items = {i["test"].partition("::")[2]: i["exercise"] for i in summary["items"]}
    assert items[bar] == "evaluate"  # an item is the test itself: listed with the function that owns it
    stubbed = real(bar, False, "[lesson5 evaluate] is not implemented yet", stub="train_one_epoch")
    assert classreport.exercise_key(stubbed)[2] == "train_one_epoch"  # the stub it reached


def test_pitfalls_are_counted_per_student_and_sorted_by_frequency():
    """Check students per pitfall (a student counts once however many tests), lessons, and the order."""
    students = [student("a", [t("test_x_1", False, pitfalls=["view-non-contiguous"]),
                              t("test_x_2", False, pitfalls=["view-non-contiguous"]),
                              t("test_y_1", False, lesson=2, pitfalls=["no-zero-grad"])]),
                student("b", [t("test_y_1", False, lesson=2, pitfalls=["no-zero-grad"])]),
                student("c", [t("test_x_1")])]
    summary = classreport.summarise(students)
    assert [p["slug"] for p in summary["pitfalls"]][:2] == ["no-zero-grad", "view-non-contiguous"]
    assert len(summary["pitfalls"]) == len(PITFALLS)
    first, second = summary["pitfalls"][:2]
    assert (first["students"], first["tests"], first["lessons"]) == (2, 2, {"2": 2})
    assert (second["students"], second["tests"], second["lessons"]) == (1, 2, {"1": 1})
    assert summary["student_pitfalls"] == {"a": {"view-non-contiguous": 2, "no-zero-grad": 1}, "b": {"no-zero-grad": 1},
                                           "c": {}}
    assert "no-zero-grad: 2 of 3 students (lesson 2)" in "\n".join(classreport.top_lines(summary))
    assert set(classreport.PITFALL_WHAT) == set(PITFALLS)


def test_the_page_escapes_student_text(tmp_path):
    """Check a hostile folder name and message reach the page only as text."""
    students = [student(HOSTILE, [t("test_a_1", False, exercise="a", pitfalls=["double-backward"],
                                    output="<script>alert(2)</script>")])]
    summary = classreport.summarise(students)
    page = Path(classreport.write(summary, str(tmp_path / "report"), "<b>title</b>"))
    text = page.read_text(encoding="utf-8")
    assert "<img src=x" not in text and "<script>alert" not in text and "<b>title" not in text
    assert html.escape(HOSTILE, quote=True) in text
    assert "<script" not in text.lower()  # no script at all on the page


def test_real_test_names_map_to_their_exercise():
    """Check the owner of a grader's test (coursetools.exercises, as the notebooks' check cells use it)."""
    key = classreport.exercise_key({"name": "lesson1/test_tensors.py::test_flatten_images_accepts_non_contiguous_input",
                                    "extra_data": {"lesson": 1}})
    assert key[0] == 1 and key[2] == "flatten_images"


# ------------------------------------------------------------------ a small graded class

CLASS = {  # folder -> (overlay or None, lessons of the overlay, base)
    "alice": (None, None, "solutions"),
    "bob": (None, None, "exercises"),
    "carol": ("view-non-contiguous", {1}, "solutions"),
    "dave": ("no-zero-grad", {2}, "solutions"),
    "frank": (None, None, "half"),  # lesson 1 as handed out, lesson 2 solved
    HOSTILE: ("numpy-on-grad-or-cuda", {1, 2}, "solutions"),
}


def _build(folder: Path, name: str):
    mutant, lessons, base = CLASS[name]
    target = folder / name
    if mutant:
        overlay.build(MUTANTS / mutant, target, lessons=lessons)
    elif base == "half":
        shutil.copytree(REPO_ROOT / "solutions", target, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(REPO_ROOT / "exercises" / "lesson1" / "tensors.py", target / "lesson1" / "tensors.py")
    else:
        shutil.copytree(REPO_ROOT / base, target, ignore=shutil.ignore_patterns("__pycache__", "test_*.py"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(out folder, {folder: results.json}, batch's stdout) of the class graded on lessons 1 and 2."""
    work = tmp_path_factory.mktemp("class")
    for name in CLASS:
        _build(work / "submissions", name)
    out = work / "out"
    done = subprocess.run([sys.executable, "-m", "autograder", "batch", str(work / "submissions"), "--out", str(out),
                           "--lessons", "1", "2", "--workers", "2", "--quiet"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=900, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert done.returncode == 0, done.stdout + done.stderr
    found = {p.parent.name: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*/results.json")}
    assert len(found) == len(CLASS), sorted(found)
    return out, found, done.stdout


def _failed_tags(data: dict) -> dict:
    tags = {}
    for test in data["tests"]:
        if test["status"] != "passed":
            for tag in test["tags"]:
                if tag.startswith("pitfall:"):
                    tags.setdefault(tag.split(":", 1)[1], []).append(test["extra_data"]["lesson"])
    return tags


@pytest.mark.slow
def test_batch_writes_the_report_and_prints_the_top_pitfalls(graded):
    """Check batch's last lines: the page's path and the top pitfalls; the files are there."""
    out, _, stdout = graded
    report = out / "report"
    assert f"class report / 班级报告: {report / 'index.html'}" in stdout
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    lines = classreport.top_lines(summary)
    assert len(lines) == 3 and all(line in stdout for line in lines)
    assert "numpy-on-grad-or-cuda: 1 of 6 students (lesson 1, 2)" in stdout
    assert {"index.html", "summary.json", "pitfalls.csv", "hist-total.png", "hist-lesson1.png", "hist-lesson2.png",
            "pitfalls.png"} <= {p.name for p in report.iterdir()}


@pytest.mark.slow
def test_summary_figures_match_counts_from_the_results(graded, tmp_path):
    """Check summary.json (written by `report DIR --csv`) against counts made here from each results.json."""
    out, found, _ = graded
    done = subprocess.run([sys.executable, "-m", "autograder", "report", str(out), "--csv", str(tmp_path / "p.csv"),
                           "--threshold", "50"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "report" / "summary.json").read_text(encoding="utf-8"))

    glance = summary["class"]
    assert (glance["students"], glance["graded"]) == (len(CLASS), len(CLASS))
    totals = [d["score"] for d in found.values()]
    assert glance["total_points"]["median"] == pytest.approx(statistics.median(totals))
    assert glance["total_points"]["min"] == min(totals) and glance["total_points"]["max"] == max(totals)
    for number in ("1", "2"):
        scores = [d["extra_data"]["lessons"][number]["score"] for d in found.values()]
        assert glance["lessons"][number]["points"]["median"] == pytest.approx(statistics.median(scores))

    # pitfalls: students, lessons, tests per student
    direct = {folder: _failed_tags(data) for folder, data in found.items()}
    for entry in summary["pitfalls"]:
        slug = entry["slug"]
        who = sorted(f for f, tags in direct.items() if slug in tags)
        assert sorted(entry["student_folders"]) == who, slug
        lessons = {str(n): sum(n in direct[f].get(slug, []) for f in who) for n in (1, 2)}
        assert entry["lessons"] == {k: v for k, v in lessons.items() if v}, slug
    assert summary["student_pitfalls"] == {f: {s: len(where) for s, where in tags.items()} for f, tags in direct.items()}
    expected = {"carol": {"view-non-contiguous"}, "dave": {"no-zero-grad"}}
    hostile = next(f for f in found if found[f]["extra_data"]["submission"] == HOSTILE)
    expected[hostile] = {"numpy-on-grad-or-cuda"}
    assert {f: set(t) for f, t in direct.items() if t} == expected
    order = list(PITFALLS)
    ranked = sorted(PITFALLS, key=lambda s: (-sum(s in tags for tags in direct.values()),
                                             -sum(len(tags.get(s, [])) for tags in direct.values()), order.index(s)))
    assert [p["slug"] for p in summary["pitfalls"]] == ranked

    # items: pass counts per test
    for item in summary["items"]:
        runs = [t for d in found.values() for t in d["tests"] if t["name"] == item["test"]]
        assert (item["students"], item["passed"]) == (len(runs), sum(t["status"] == "passed" for t in runs))
    assert not [i for i in summary["items"] if i["flag"] == "easy"]  # bob passes nothing

    # exercises: the stubs are not attempted, a mutant's exercise is attempted and failed
    rows = {(x["lesson"], x["exercise"]): x for x in summary["exercises"]}
    assert "bob" in rows[(1, "scalar_tensor")]["not_attempted_students"]
    assert "frank" in rows[(1, "scalar_tensor")]["not_attempted_students"]
    assert rows[(1, "flatten_images")]["failed_students"] == ["carol"]
    assert rows[(2, "zero_grads")]["failed_students"] == ["dave"]
    stubs = {f for f, d in found.items() if any(t["extra_data"]["not_implemented"] for t in d["tests"])}
    assert stubs == {"bob", "frank"}

    # who to help: below 50 %, with the first exercise not passed
    below = sorted(f for f, d in found.items() if 100 * d["score"] / d["max_score"] < 50)
    assert sorted(h["folder"] for h in summary["help"]) == below == ["bob", "frank"]
    assert {h["folder"]: h["first_failing"]["exercise"] for h in summary["help"]} == {"bob": "scalar_tensor",
                                                                                      "frank": "scalar_tensor"}
    assert summary["health"]["incomplete"] == 0 and summary["health"]["counts"]["timeouts"] == 0

    # the CSV: one row per student, one column per pitfall
    with open(tmp_path / "p.csv", encoding="utf-8", newline="") as file:
        table = list(csv.DictReader(file))
    assert len(table) == len(CLASS) and set(PITFALLS) <= set(table[0])
    assert {r["folder"]: r["pitfalls"] for r in table}["carol"] == "view-non-contiguous"


@pytest.mark.slow
def test_the_page_renders_in_headless_chromium(graded, tmp_path):
    """Check the page in Chromium: the pitfall table is in the DOM, the hostile name is text, a screenshot."""
    browser = chromium()
    out, found, _ = graded
    page = (out / "report" / "index.html").as_uri()
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-3000:]
    problems = [line for line in dom.stderr.splitlines()
                if "CONSOLE" in line or "Uncaught" in line or "net::ERR" in line or "Failed to load" in line]
    assert not problems, problems
    text = dom.stdout
    assert 'id="pitfall-table"' in text and 'id="student-pitfall-table"' in text
    for slug in ("numpy-on-grad-or-cuda", "view-non-contiguous", "no-zero-grad"):
        assert f'data-slug="{slug}"' in text
    assert "<img src=\"x\"" not in text and "onerror=\"alert" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert text.count("data:image/png;base64,") >= 4  # total, lessons 1 and 2, the pitfall chart

    shot = tmp_path / "class-report.png"
    done = subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1200,3000", page], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-3000:]
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1200, 3000)
        assert len(image.convert("RGB").resize((120, 300)).getcolors(maxcolors=100000)) > 20  # not a blank page
    keep = os.environ.get("COURSE_REPORT_SCREENSHOT")
    if keep:
        Path(keep).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep)


# ------------------------------------------------------------------ the same figures from nbgrader

def _autograded(results: dict, lesson: int, student: str, course: Path) -> float:
    """Write the autograded notebook EngineGrades makes of `results` (as its preprocess does); its points."""
    import nbformat

    from autograder.parent import notebooks

    source = REPO_ROOT / "nbgrader" / "source" / f"lesson{lesson}" / f"lesson{lesson}.ipynb"
    notebook = nbformat.read(str(source), as_version=4)
    found = notebooks.verdicts(results, lesson)
    total = 0.0
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        name = meta["grade_id"][len(f"lesson{lesson}_"):-len("_check")]
        score, top, _, _ = found[name]
        most = float(meta.get("points", 0) or 0)
        points = round(most * (score / top if top else 1.0), 4)
        notebooks._set_outputs(cell, notebooks._diagnosis(name, found[name], (points, most), [], {}), points)
        total += points
    target = course / "autograded" / student / f"lesson{lesson}" / f"lesson{lesson}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(target))
    return total


@pytest.mark.slow
def test_nbgrader_export_and_autograded_notebooks_give_the_same_pitfalls(graded, tmp_path):
    """Check `report COURSE --nbgrader`: pitfalls per student and lesson as in the engine's results."""
    _, found, _ = graded
    course = tmp_path / "course"
    rows = []
    for folder, data in found.items():
        student = folder if folder != next(f for f in found if found[f]["extra_data"]["submission"] == HOSTILE) \
            else "hostile"
        for lesson in (1, 2):
            nb = REPO_ROOT / "nbgrader" / "source" / f"lesson{lesson}" / f"lesson{lesson}.ipynb"
            most = sum(float(c["metadata"]["nbgrader"].get("points", 0)) for c in json.loads(nb.read_text())["cells"]
                       if c["metadata"].get("nbgrader", {}).get("grade"))
            rows.append({"assignment": f"lesson{lesson}", "student_id": student,
                         "score": _autograded(data, lesson, student, course), "max_score": most})
    with open(course / "grades.csv", "w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                                       "email", "raw_score", "late_submission_penalty", "score", "max_score"])
        writer.writeheader()
        writer.writerows(rows)
    done = subprocess.run([sys.executable, "-m", "autograder", "report", str(course), "--nbgrader"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads((course / "report" / "summary.json").read_text(encoding="utf-8"))
    def rename(f):
        return "hostile" if found[f]["extra_data"]["submission"] == HOSTILE else f

    direct = {rename(f): _failed_tags(d) for f, d in found.items()}
    assert {f: set(m) for f, m in summary["student_pitfalls"].items()} == {f: set(t) for f, t in direct.items()}
    for entry in summary["pitfalls"]:
        lessons = {str(n): sum(n in tags.get(entry["slug"], []) for tags in direct.values()) for n in (1, 2)}
        assert entry["lessons"] == {k: v for k, v in lessons.items() if v}, entry["slug"]
    assert (summary["class"]["graded"], summary["health"]["incomplete"]) == (len(CLASS), 0)
    assert sorted(h["folder"] for h in summary["help"]) == ["bob", "frank"]
    by_exercise = {(x["lesson"], x["exercise"]): x for x in summary["exercises"]}
    assert by_exercise[(1, "flatten_images")]["failed_students"] == ["carol"]
    assert "bob" in by_exercise[(2, "square_grad")]["not_attempted_students"]
    assert (course / "report" / "index.html").is_file()
    assert summary["grader_version"] == results.grader_version()  # the header said "grader version ?"
    assert f"评分程序版本 {results.grader_version()}" in (course / "report" / "index.html").read_text(encoding="utf-8")
