"""The class report: what a class got wrong, by pitfall, on one page an instructor opens in a browser.

    python -m autograder report DIR [--csv PATH] [--threshold X] [--out FOLDER]

DIR is the output of `batch` or `merge` (DIR/<folder>/results.json, DIR/gradebook.csv). Written:

    DIR/report/index.html      one self-contained page (pictures embedded, no script, print-friendly),
                               every heading and label in English, then Simplified Chinese
    DIR/report/summary.json    the same figures, for tools
    DIR/report/pitfalls.csv    the student x pitfall table (also at PATH with --csv)
    DIR/report/*.png           the histograms and the pitfall chart (also embedded in index.html)

The figures (`summarise`, on plain results.json dicts, so tests can check each one by hand):

- population: the students whose results.json is finished; unfinished and ungraded ones are listed
  under grader health only (their missing tests are not the class's mistakes);
- class at a glance: totals (points and percent: median, quartiles, min, max, mean), per lesson;
- pitfalls: for each of the twelve slugs, the students with a failed test tagged `pitfall:<slug>`,
  in which lessons and exercises, with what it is and the fix (coursetools' PITFALLS); sorted by
  students, then failed tests, then the course's order of the slugs;
- items: per test, the pass rate, the pass rate among students who attempted its exercise, and the
  discrimination: pass rate in the top third minus the bottom third (ranked by total percent, ties
  by name; none under three students); "hard": at most 10 % of those who attempted it pass;
  "easy": every student passes;
- exercises: passed, attempted and failed, not attempted (a stub's "not implemented", or the file
  or the name missing);
- who to help: students under --threshold percent (default 50), with their first exercise in
  course order that is not passed;
- grader health: not graded, unfinished, grader errors, NOT ISOLATED, timeouts (one row per student and
  function: a failed test goes to the function its message names, "[lesson5 train_one_epoch] ..."; so do the
  exercises and "who to help").

All student-derived text (folder names, messages) is escaped; nothing is fetched from the network.

班级报告：全班错在哪里（按常见错误分类），一页 HTML（中英双语），另有 summary.json 和 CSV。
"""
import base64
import csv
import html
import io
import json
import os
import re
import statistics
import subprocess
import time

from autograder.parent import neutralise
from autograder.parent import results as results_model

# Every import from the course tools is here (the package is being reorganised: one place to update).
from coursetools import LESSONS, REPO_ROOT
from coursetools.checks.feedback import PITFALLS
from coursetools.exercises import exercise_names, exercise_of, owners
from coursetools.lessons import number_in

REPORT_FOLDER = "report"
DEFAULT_THRESHOLD = 50.0  # percent of the maximum: below it, a student is listed under "who to help"
HARD_RATE = 0.10  # a test at most this share of its attempters pass: "almost nobody passes"
# autograder/lesson/messages.py: timeout() (old and new wording), cut_short() (a looping function's later tests)
TIMEOUT_MARKS = ("timed out after", "ran longer than", "ran past its time limit")
MISSING_MARKS = ("is missing from the submission", "is not defined in ")  # coursetools/boundary/proxy.py
NOT_GRADED_YET = "not graded yet"  # autograder/parent/record.py NOT_YET

#: slug -> (what it is, English; 中文), as CURRICULUM.md's table of the twelve pitfalls says it.
PITFALL_WHAT = {
    "no-zero-grad": ("gradients never cleared (optimizer.zero_grad() missing)",
                     "梯度从未清零（缺少 optimizer.zero_grad()）"),
    "eval-with-grad": ("evaluation with gradient tracking on (no torch.no_grad() / inference_mode)",
                       "评估时仍在记录梯度（没有 torch.no_grad() / inference_mode）"),
    "train-eval-mode": ("model.train() / model.eval() not switched", "没有切换 model.train() / model.eval()"),
    "device-mismatch": ("tensors and model on different devices; .cuda() hard-coded where a device was given",
                        "张量和模型在不同设备上；在给定 device 的地方写死了 .cuda()"),
    "missing-channel-dim": ("(N, 28, 28) where (N, 1, 28, 28) is expected", "需要 (N, 1, 28, 28) 的地方给了 (N, 28, 28)"),
    "view-non-contiguous": ("view() on a non-contiguous tensor", "对内存不连续的张量调用 view()"),
    "tensor-constructor-dtype": ("torch.Tensor([..]) where torch.tensor([..]) was meant (dtype lost)",
                                 "该用 torch.tensor([..]) 的地方用了 torch.Tensor([..])（丢失了 dtype）"),
    "numpy-on-grad-or-cuda": (".numpy() on a CUDA tensor or a tensor that requires grad",
                              "对 CUDA 张量或需要梯度的张量调用 .numpy()"),
    "double-backward": ("backward() twice without retain_graph=True", "两次 backward() 而没有 retain_graph=True"),
    "softmax-before-ce": ("softmax before CrossEntropyLoss (it expects logits)",
                          "在 CrossEntropyLoss 之前做了 softmax（它需要 logits）"),
    "step-before-backward": ("optimizer step before backward, or backward on a non-scalar",
                             "在 backward 之前调用 optimizer.step()，或对非标量调用 backward"),
    "checkpoint-format": ("checkpoint saved as a whole pickled module, or loaded without map_location",
                          "检查点保存了整个 pickle 模块，或加载时没有 map_location"),
}


class ReportError(Exception):
    """DIR cannot be reported on (missing, no results in it)."""


# ------------------------------------------------------------------ reading a batch/merge folder

def load_class(directory: str) -> list:
    """[{"name", "folder", "data": results.json dict or None, "error"}] of every student of DIR.

    The class list is DIR/gradebook.csv's (it names the students that have no results too), plus any
    DIR/<folder>/results.json it does not list."""
    if not os.path.isdir(directory):
        raise ReportError(f"{directory}: no such folder (give the --out folder of `batch` or `merge`)")
    students, seen = [], set()
    try:
        with open(os.path.join(directory, "gradebook.csv"), encoding="utf-8", newline="") as file:
            rows = list(csv.DictReader(file))
    except (OSError, ValueError, csv.Error):
        rows = []
    for row in rows:
        row = {key: neutralise.csv_value(value) for key, value in row.items()}  # the gradebook's cells as written
        folder = (row.get("folder") or "").strip()
        if not folder or folder in seen or os.sep in folder or folder in (".", ".."):
            continue
        seen.add(folder)
        data = results_model.read_results_json(os.path.join(directory, folder))
        students.append({"name": row.get("submission") or folder, "folder": folder, "data": data,
                         "error": row.get("error") or ""})
    try:
        entries = sorted(e.name for e in os.scandir(directory) if e.is_dir(follow_symlinks=False))
    except OSError:
        entries = []
    for folder in entries:
        if folder in seen or folder == REPORT_FOLDER:
            continue
        data = results_model.read_results_json(os.path.join(directory, folder))
        if data is not None:
            extra = data.get("extra_data") or {}
            students.append({"name": str(extra.get("submission") or folder), "folder": folder, "data": data,
                             "error": ""})
    if not any(s["data"] is not None for s in students):
        raise ReportError(f"{directory}: no results.json in it (expected DIR/<student>/results.json, the output of "
                          "`python -m autograder batch` or `merge`)")
    return students


def _meta(directory: str) -> dict:
    try:
        with open(os.path.join(directory, "progress.json"), encoding="utf-8") as file:
            progress = json.load(file)
    except (OSError, ValueError):
        progress = {}
    progress = progress if isinstance(progress, dict) else {}
    return {"grader_version": progress.get("grader_version"), "options": progress.get("options") or {}}


# ------------------------------------------------------------------ the figures

_OWNERS = {}


def _exercises(lesson: int) -> tuple:
    """(exercise names in order, {test function: exercise}) of a lesson, from the reference and its grader."""
    if lesson not in _OWNERS:
        names, owned = [], {}
        topic = LESSONS.get(lesson)
        try:
            names = exercise_names((REPO_ROOT / "solutions" / f"lesson{lesson}" / f"{topic}.py").read_text("utf-8"))
            owned = owners((REPO_ROOT / "autograder" / f"lesson{lesson}" / f"test_{topic}.py").read_text("utf-8"),
                           names)
        except (OSError, SyntaxError, ValueError, TypeError):
            pass
        _OWNERS[lesson] = (names, owned)
    return _OWNERS[lesson]


def _lesson_of(test: dict) -> int:
    extra = test.get("extra_data") or {}
    try:
        return int(extra.get("lesson"))
    except (TypeError, ValueError):
        return number_in(test.get("name", ""), 0)


# "[lesson5 train_one_epoch] ..." (coursetools.checks.feedback), "[lesson1] filled ran longer ..." (lesson/messages.py)
_NAMED = re.compile(r"\[lesson(\d+)(?: ([A-Za-z_]\w*)\]|\] ([A-Za-z_]\w*))")


def blamed(test: dict, lesson: int, names: list):
    """The exercise a failed test's own message names ("[lesson5 train_one_epoch] ...", or the stub it reached),
    when it is one of the lesson's; None otherwise. A test of `evaluate` that failed in `train_one_epoch` is that."""
    if test.get("status") == "passed":
        return None
    extra = test.get("extra_data") or {}
    stub = extra.get("not_implemented")
    if stub in names:
        return stub
    message = extra.get("message") if isinstance(extra.get("message"), dict) else {}
    found = _NAMED.match(first_line(message.get("en") or test.get("output"), 400))
    name = found and (found.group(2) or found.group(3))
    return name if name and int(found.group(1)) == lesson and name in names else None


def exercise_key(test: dict, blame: bool = True) -> tuple:
    """(lesson, position in the lesson, exercise) of the exercise a test checks (its extra_data may name it); with
    `blame`, a failed test goes to the exercise its message names (the function that failed), else to its owner."""
    lesson = _lesson_of(test)
    extra = test.get("extra_data") or {}
    names, owned = _exercises(lesson)
    function = str(test.get("name", "")).partition("::")[2].split("[", 1)[0]
    exercise = extra.get("exercise") or (blame and blamed(test, lesson, names)) or owned.get(function)
    if not exercise and names and function.startswith("test_"):
        exercise = exercise_of(function, names)
    exercise = str(exercise or function or "?")
    position = names.index(exercise) if exercise in names else len(names)
    return lesson, position, exercise


def _pitfalls(test: dict) -> list:
    return [tag.split(":", 1)[1] for tag in test.get("tags") or [] if str(tag).startswith("pitfall:")]


def _not_attempted(test: dict) -> bool:
    output = str(test.get("output") or "")
    return bool((test.get("extra_data") or {}).get("not_implemented")) or any(m in output for m in MISSING_MARKS)


def first_line(text, width: int = 200) -> str:
    line = next((part.strip() for part in str(text or "").splitlines() if part.strip()), "")
    return line if len(line) <= width else line[:width - 3] + "..."


def _percent(data: dict) -> float:
    top = float(data.get("max_score") or 0)
    return 100.0 * float(data.get("score") or 0) / top if top else 0.0


def spread(values: list) -> dict:
    """median, quartiles (inclusive method), min, max, mean, standard deviation of `values` (None when empty)."""
    values = sorted(float(v) for v in values)
    if not values:
        return {"count": 0, "median": None, "q1": None, "q3": None, "iqr": None, "min": None, "max": None,
                "mean": None, "stdev": None}
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
    return {"count": len(values), "median": round(statistics.median(values), 3), "q1": round(q1, 3),
            "q3": round(q3, 3), "iqr": round(q3 - q1, 3), "min": values[0], "max": values[-1],
            "mean": round(statistics.fmean(values), 3),
            "stdev": round(statistics.stdev(values), 3) if len(values) > 1 else 0.0}


def _rate(passed: int, count: int):
    return round(passed / count, 4) if count else None


def summarise(students: list, threshold: float = DEFAULT_THRESHOLD, meta: dict = None) -> dict:
    """Every figure of the report from the class (load_class's list, or hand-made dicts alike)."""
    scored = [s for s in students if s["data"] is not None and (s["data"].get("extra_data") or {}).get("finished", True)]
    scored.sort(key=lambda s: (s["name"], s["folder"]))
    percent = {s["folder"]: _percent(s["data"]) for s in scored}

    # -- class at a glance
    lessons = sorted({int(n) for s in scored for n in ((s["data"].get("extra_data") or {}).get("lessons") or {})
                      if str(n).isdigit()} | {_lesson_of(t) for s in scored for t in s["data"].get("tests") or []})
    lessons = [n for n in lessons if n]
    per_lesson = {}
    for number in lessons:
        points, shares, tops = [], [], []
        for s in scored:
            entry = ((s["data"].get("extra_data") or {}).get("lessons") or {}).get(str(number))
            if entry is None:
                tests = [t for t in s["data"].get("tests") or [] if _lesson_of(t) == number]
                if not tests:
                    continue
                entry = {"score": sum(float(t.get("score") or 0) for t in tests),
                         "max_score": sum(float(t.get("max_score") or 0) for t in tests)}
            score, top = float(entry.get("score") or 0), float(entry.get("max_score") or 0)
            points.append(score)
            tops.append(top)
            shares.append(100.0 * score / top if top else 0.0)
        per_lesson[str(number)] = {"topic": LESSONS.get(number, ""), "students": len(points),
                                   "max_score": max(tops) if tops else 0.0, "points": spread(points),
                                   "percent": spread(shares), "percents": [round(v, 3) for v in shares]}
    glance = {"students": len(students), "graded": len(scored),
              "not_graded": sum(s["data"] is None for s in students),
              "unfinished": sum(s["data"] is not None and s not in scored for s in students),
              "max_score": max((float(s["data"].get("max_score") or 0) for s in scored), default=0.0),
              "total_points": spread([float(s["data"].get("score") or 0) for s in scored]),
              "total_percent": spread(list(percent.values())),
              "percents": {s["folder"]: round(percent[s["folder"]], 3) for s in scored},
              "lessons": per_lesson}

    # -- per student: tests by exercise
    statuses = {}  # folder -> {(lesson, position, exercise): status}
    failing = {}  # folder -> {key: [failed tests]}
    for s in scored:
        by_exercise = {}
        for test in s["data"].get("tests") or []:
            by_exercise.setdefault(exercise_key(test), []).append(test)
        statuses[s["folder"]], failing[s["folder"]] = {}, {}
        for key, tests in by_exercise.items():
            failed = [t for t in tests if t.get("status") != "passed"]
            failing[s["folder"]][key] = failed
            statuses[s["folder"]][key] = ("passed" if not failed else "not_attempted"
                                          if all(_not_attempted(t) for t in failed) else "failed")

    # -- pitfalls
    matrix = {s["folder"]: {} for s in scored}
    found = {slug: {"students": [], "tests": 0, "lessons": {}, "exercises": {}} for slug in PITFALLS}
    for s in scored:
        for test in s["data"].get("tests") or []:
            if test.get("status") == "passed":
                continue
            lesson, _, exercise = exercise_key(test)
            for slug in dict.fromkeys(_pitfalls(test)):
                entry = found.setdefault(slug, {"students": [], "tests": 0, "lessons": {}, "exercises": {}})
                entry["tests"] += 1
                matrix[s["folder"]][slug] = matrix[s["folder"]].get(slug, 0) + 1
                if s["folder"] not in entry["students"]:
                    entry["students"].append(s["folder"])
                entry["lessons"].setdefault(str(lesson), set()).add(s["folder"])
                entry["exercises"].setdefault(f"lesson{lesson} {exercise}", set()).add(s["folder"])
    order = list(PITFALLS) + sorted(set(found) - set(PITFALLS))
    pitfalls = []
    for slug in sorted(found, key=lambda k: (-len(found[k]["students"]), -found[k]["tests"], order.index(k))):
        entry = found[slug]
        hint = PITFALLS.get(slug, ("", ""))
        what = PITFALL_WHAT.get(slug, ("", ""))
        pitfalls.append({"slug": slug, "students": len(entry["students"]), "student_folders": entry["students"],
                         "share": _rate(len(entry["students"]), len(scored)), "tests": entry["tests"],
                         "lessons": {n: len(v) for n, v in sorted(entry["lessons"].items(), key=lambda i: int(i[0]))},
                         "exercises": {k: len(v) for k, v in sorted(entry["exercises"].items())},
                         "what_en": what[0], "what_zh": what[1], "fix_en": hint[0], "fix_zh": hint[1]})

    # -- items (tests)
    ranked = sorted(scored, key=lambda s: (-percent[s["folder"]], s["name"], s["folder"]))
    third = len(ranked) // 3
    top = {s["folder"] for s in ranked[:third]}
    bottom = {s["folder"] for s in ranked[len(ranked) - third:]} if third else set()
    tests = {}
    for s in scored:
        for test in s["data"].get("tests") or []:
            name = str(test.get("name", ""))
            lesson, position, exercise = exercise_key(test, blame=False)  # an item is a test: its owner
            item = tests.setdefault(name, {"test": name, "lesson": lesson, "exercise": exercise, "position": position,
                                           "max_score": float(test.get("max_score") or 0), "students": 0,
                                           "passed": 0, "attempted": 0, "passed_attempted": 0, "top": [0, 0],
                                           "bottom": [0, 0], "pitfalls": {}})
            passed = test.get("status") == "passed"
            item["students"] += 1
            item["passed"] += passed
            if passed or not _not_attempted(test):
                item["attempted"] += 1
                item["passed_attempted"] += passed
            for group, members in (("top", top), ("bottom", bottom)):
                if s["folder"] in members:
                    item[group][0] += passed
                    item[group][1] += 1
            for slug in _pitfalls(test):
                item["pitfalls"][slug] = item["pitfalls"].get(slug, 0) + 1
    items = []
    for item in sorted(tests.values(), key=lambda i: (i["lesson"], i["position"], i["test"])):
        top_rate, bottom_rate = _rate(*item["top"]), _rate(*item["bottom"])
        rate_attempted = _rate(item["passed_attempted"], item["attempted"])
        flag = None
        if item["students"] and item["passed"] == item["students"]:
            flag = "easy"
        elif item["attempted"] and rate_attempted <= HARD_RATE:
            flag = "hard"
        items.append({"test": item["test"], "lesson": item["lesson"], "exercise": item["exercise"],
                      "max_score": item["max_score"], "students": item["students"], "passed": item["passed"],
                      "pass_rate": _rate(item["passed"], item["students"]), "attempted": item["attempted"],
                      "pass_rate_attempted": rate_attempted, "top_pass_rate": top_rate,
                      "bottom_pass_rate": bottom_rate,
                      "discrimination": (round(top_rate - bottom_rate, 4)
                                         if top_rate is not None and bottom_rate is not None else None),
                      "flag": flag, "pitfalls": item["pitfalls"]})

    # -- exercises
    keys = sorted({key for by in statuses.values() for key in by})
    exercises = []
    for key in keys:
        lesson, _, exercise = key
        counts = {"passed": [], "failed": [], "not_attempted": []}
        for s in scored:
            status = statuses[s["folder"]].get(key)
            if status:
                counts[status].append(s["folder"])
        exercises.append({"lesson": lesson, "exercise": exercise, "students": sum(map(len, counts.values())),
                          "passed": len(counts["passed"]), "failed": len(counts["failed"]),
                          "not_attempted": len(counts["not_attempted"]), "failed_students": counts["failed"],
                          "not_attempted_students": counts["not_attempted"]})

    # -- who to help
    help_list = []
    for s in sorted(scored, key=lambda s: (percent[s["folder"]], s["name"], s["folder"])):
        if percent[s["folder"]] >= threshold:
            continue
        first = None
        for key in sorted(statuses[s["folder"]]):
            if statuses[s["folder"]][key] != "passed":
                failed = failing[s["folder"]][key]
                first = {"lesson": key[0], "exercise": key[2], "status": statuses[s["folder"]][key],
                         "test": str(failed[0].get("name", "")), "message": first_line(failed[0].get("output")),
                         "pitfalls": sorted({slug for t in failed for slug in _pitfalls(t)})}
                break
        data = s["data"]
        help_list.append({"student": s["name"], "folder": s["folder"], "score": float(data.get("score") or 0),
                          "max_score": float(data.get("max_score") or 0), "percent": round(percent[s["folder"]], 3),
                          "first_failing": first})

    # -- grader health
    health = {"not_graded": [], "unfinished": [], "errors": [], "not_isolated": [], "timeouts": []}
    for s in sorted(students, key=lambda s: (s["name"], s["folder"])):
        data = s["data"]
        if data is None:
            health["not_graded"].append({"student": s["name"], "folder": s["folder"],
                                         "reason": s.get("error") or "no results.json"})
            continue
        extra = data.get("extra_data") or {}
        if not extra.get("finished", True):
            health["unfinished"].append({"student": s["name"], "folder": s["folder"],
                                         "not_graded_yet": sum(NOT_GRADED_YET in str(t.get("output") or "")
                                                               for t in data.get("tests") or [])})
        elif not extra.get("complete", True):
            health["errors"].append({"student": s["name"], "folder": s["folder"],
                                     "errors": [first_line(e, 300) for e in extra.get("errors") or []]
                                     or ["grading did not complete"]})
        if extra.get("isolated") is False:
            health["not_isolated"].append({"student": s["name"], "folder": s["folder"],
                                           "lessons": sorted(int(n) for n, entry in (extra.get("lessons") or {}).items()
                                                             if str((entry or {}).get("isolation", "")).startswith("NOT"))})
        looped = {}  # (lesson, exercise) -> its timed-out tests: one row per student and function, not per test
        for test in data.get("tests") or []:
            if test.get("status") != "passed" and any(m in str(test.get("output") or "") for m in TIMEOUT_MARKS):
                lesson, _, exercise = exercise_key(test)
                looped.setdefault((lesson, exercise), []).append(str(test.get("name", "")))
        for (lesson, exercise), names_timed_out in sorted(looped.items()):
            health["timeouts"].append({"student": s["name"], "folder": s["folder"], "lesson": lesson,
                                       "exercise": exercise, "test": names_timed_out[0], "tests": names_timed_out,
                                       "count": len(names_timed_out)})
    health["counts"] = {k: len(v) for k, v in health.items()}
    health["incomplete"] = health["counts"]["not_graded"] + health["counts"]["unfinished"] + health["counts"]["errors"]

    return {"report_version": 1, "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(meta or {}),
            "threshold_percent": threshold, "hard_rate": HARD_RATE,
            "names": {s["folder"]: s["name"] for s in students},
            "class": glance, "pitfalls": pitfalls, "student_pitfalls": matrix, "items": items,
            "exercises": exercises, "help": help_list, "health": health}


def top_lines(summary: dict, count: int = 3) -> list:
    """Up to `count` lines: the most frequent pitfalls (English, then 中文)."""
    graded = summary["class"]["graded"]
    lines = []
    for p in [p for p in summary["pitfalls"] if p["students"]][:count]:
        lessons = ", ".join(p["lessons"])
        lines.append(f"  {p['slug']}: {p['students']} of {graded} students (lesson {lessons}) / "
                     f"{graded} 名学生中 {p['students']} 名（第 {lessons} 课）")
    return lines or ["  no pitfall diagnosed / 未诊断出常见错误"]


# ------------------------------------------------------------------ pictures

def _cjk_font():
    """The name of a font with Chinese glyphs that matplotlib can use, or None (then the pictures are English only)."""
    from matplotlib import font_manager

    for entry in font_manager.fontManager.ttflist:
        if "CJK SC" in entry.name or entry.name in ("WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "AR PL UMing CN"):
            return entry.name
    try:
        listed = subprocess.run(["fc-list", ":lang=zh-cn", "file"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted({line.split(":")[0].strip() for line in listed.splitlines() if line.strip()},
                   key=lambda p: ("Sans" not in p, "Regular" not in p, "Mono" in p, p))
    for path in files:
        try:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
        except Exception:  # noqa: BLE001 (a font matplotlib cannot read: try the next)
            continue
    return None


def _label(en: str, zh: str, bilingual: bool) -> str:
    return f"{en} / {zh}" if bilingual else en


def pictures(summary: dict) -> dict:
    """{file name: PNG bytes}: a histogram of the total and of each lesson (percent), the pitfall chart."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # the Agg canvas itself: no global backend switch
    from matplotlib.figure import Figure

    font = _cjk_font()
    bilingual = font is not None
    rc = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}
    out = {}

    def save(figure, name):
        FigureCanvasAgg(figure)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
        out[name] = buffer.getvalue()

    with matplotlib.rc_context(rc):
        glance = summary["class"]
        panels = [("total", _label("Total", "总分", bilingual), list(glance["percents"].values()))]
        panels += [(f"lesson{n}", _label(f"Lesson {n} ({entry['topic']})", f"第 {n} 课", bilingual), entry["percents"])
                   for n, entry in glance["lessons"].items()]
        for name, title, values in panels:
            figure = Figure(figsize=(4.2, 2.6))
            axes = figure.add_subplot()
            axes.hist(values, bins=[i * 10 for i in range(11)], color="#4c72b0", edgecolor="white")
            axes.set_xlim(0, 100)
            axes.set_title(title, fontsize=10)
            axes.set_xlabel(_label("score, % of the maximum", "得分占满分的百分比", bilingual), fontsize=8)
            axes.set_ylabel(_label("students", "学生数", bilingual), fontsize=8)
            axes.yaxis.get_major_locator().set_params(integer=True)
            save(figure, f"hist-{name}.png")
        seen = [p for p in summary["pitfalls"] if p["students"]]
        if seen:
            figure = Figure(figsize=(6, 0.45 * len(seen) + 1.0))
            axes = figure.add_subplot()
            axes.barh([p["slug"] for p in seen][::-1], [p["students"] for p in seen][::-1], color="#dd8452")
            axes.set_xlabel(_label("students", "学生数", bilingual), fontsize=8)
            axes.set_title(_label("Pitfalls by number of students", "各常见错误涉及的学生数", bilingual), fontsize=10)
            axes.xaxis.get_major_locator().set_params(integer=True)
            save(figure, "pitfalls.png")
    return out


# ------------------------------------------------------------------ the page

CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans", "DejaVu Sans", sans-serif; margin: 1.5em auto; max-width: 72em;
       color: #111; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 2px solid #333; margin-top: 1.6em; }
h3 { margin-bottom: .3em; } .zh { color: #444; } .meta { color: #555; font-size: .9em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .88em; }
th, td { border: 1px solid #bbb; padding: .25em .5em; vertical-align: top; text-align: left; }
th { background: #eee; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.hard { background: #fde2e2; } .easy { background: #e5f3e5; } .flag { font-weight: bold; }
.figures img { max-width: 32%; min-width: 16em; margin: .2em; border: 1px solid #ddd; }
.bar { display: inline-block; height: .8em; background: #dd8452; vertical-align: middle; }
code { font-size: .95em; word-break: break-word; } .muted { color: #777; } td.n { white-space: nowrap; }
.figures img.wide { max-width: 64%; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; } h2 { break-after: avoid; }
  tr, img { break-inside: avoid; } .figures img { max-width: 48%; } th { background: #eee !important; }
}
"""


def _e(value) -> str:
    """Text for the page: escaped, without control characters (they are not valid HTML)."""
    return html.escape(neutralise.terminal(value), quote=True)


def _h(level: int, en: str, zh: str, anchor: str = "") -> str:
    ident = f' id="{_e(anchor)}"' if anchor else ""
    return f'<h{level}{ident}>{_e(en)} / <span class="zh">{_e(zh)}</span></h{level}>'


def _th(*pairs) -> str:
    return "<tr>" + "".join(f"<th>{_e(en)}<br><span class=\"zh\">{_e(zh)}</span></th>" for en, zh in pairs) + "</tr>"


def _num(value, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return '<span class="muted">–</span>'
    return f"{float(value):.{digits}f}{suffix}" if isinstance(value, float) else f"{value}{suffix}"


def _pct(rate) -> str:
    return '<span class="muted">–</span>' if rate is None else f"{100 * rate:.0f} %"


def _img(images: dict, name: str, alt: str) -> str:
    if name not in images:
        return ""
    data = base64.b64encode(images[name]).decode("ascii")
    wide = ' class="wide"' if not name.startswith("hist-") else ""
    return f'<img{wide} src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def render_html(summary: dict, images: dict, title: str) -> str:
    names = summary["names"]
    glance = summary["class"]
    graded = glance["graded"]
    def who(folder):
        return _e(names.get(folder, folder))

    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>Class report / 班级报告: {_e(title)}</title><style>{CSS}</style></head><body>",
             _h(1, "Class report", "班级报告"),
             f'<p class="meta">{_e(title)} · generated / 生成于 {_e(summary["generated"])} · grader version / '
             f'评分程序版本 {_e(summary.get("grader_version") or "?")} · lessons / 课程 '
             f'{_e(", ".join(glance["lessons"]) or "?")}</p>',
             '<p class="meta">Contents / 目录: <a href="#glance">class at a glance / 班级概况</a> · '
             '<a href="#pitfalls">pitfalls / 常见错误</a> · <a href="#items">items / 测试项</a> · '
             '<a href="#exercises">exercises / 练习</a> · <a href="#help">who to help / 需要帮助的学生</a> · '
             '<a href="#health">grader health / 评分状况</a> · <a href="#all-tests">all tests / 全部测试</a></p>']

    # -- class at a glance
    total, share = glance["total_points"], glance["total_percent"]
    parts += [_h(2, "Class at a glance", "班级概况", "glance"), "<table>",
              _th(("figure", "指标"), ("value", "数值")),
              f'<tr><td>Students in the class / 班级学生数</td><td class="n">{glance["students"]}</td></tr>',
              f'<tr><td>Graded (finished) / 已完成评分</td><td class="n" id="graded">{graded}</td></tr>',
              f'<tr><td>Not graded or unfinished / 未评分或未完成</td><td class="n">'
              f'{glance["not_graded"] + glance["unfinished"]}</td></tr>',
              f'<tr><td>Maximum score / 满分</td><td class="n">{_num(glance["max_score"], 0)}</td></tr>',
              f'<tr><td>Median total / 总分中位数</td><td class="n">{_num(total["median"])} '
              f'({_num(share["median"], 1, " %")})</td></tr>',
              f'<tr><td>Middle half (Q1–Q3) / 中间一半（四分位）</td><td class="n">{_num(total["q1"])} – '
              f'{_num(total["q3"])} ({_num(share["q1"], 0, " %")} – {_num(share["q3"], 0, " %")})</td></tr>',
              f'<tr><td>Lowest – highest / 最低 – 最高</td><td class="n">{_num(total["min"])} – {_num(total["max"])}'
              f'</td></tr>',
              f'<tr><td>Mean ± standard deviation / 平均值 ± 标准差</td><td class="n">{_num(total["mean"])} ± '
              f'{_num(total["stdev"])}</td></tr>', "</table>"]
    parts.append("<table>" + _th(("lesson", "课"), ("students", "学生数"), ("maximum", "满分"), ("median", "中位数"),
                                  ("Q1–Q3", "四分位"), ("median %", "中位数 %")))
    for number, entry in glance["lessons"].items():
        points = entry["points"]
        parts.append(f'<tr><td>lesson{_e(number)} {_e(entry["topic"])}</td><td class="n">{entry["students"]}</td>'
                     f'<td class="n">{_num(entry["max_score"], 0)}</td><td class="n">{_num(points["median"])}</td>'
                     f'<td class="n">{_num(points["q1"])} – {_num(points["q3"])}</td>'
                     f'<td class="n">{_num(entry["percent"]["median"], 0, " %")}</td></tr>')
    parts.append("</table>")
    pictures_html = [_img(images, f"hist-{key}.png", f"histogram {key}")
                     for key in ["total"] + [f"lesson{n}" for n in glance["lessons"]]]
    parts.append('<div class="figures">' + "".join(pictures_html) + "</div>")

    # -- pitfalls
    seen = [p for p in summary["pitfalls"] if p["students"]]
    parts += [_h(2, "Pitfalls: what to re-teach", "常见错误：需要重讲的内容", "pitfalls"),
              "<p>How many students made each of the twelve beginner pitfalls (a failed test that diagnosed it), most "
              "frequent first. / 每个常见初学者错误涉及的学生数（有测试诊断出该错误），按频率排序。</p>"]
    if seen:
        parts.append('<table id="pitfall-table">' + _th(("pitfall", "常见错误"), ("students", "学生数"),
                                                          ("lessons (students)", "课（学生数）"),
                                                          ("exercises", "练习"), ("what it is", "是什么"),
                                                          ("the fix", "改正方法")))
        for p in seen:
            width = int(100 * (p["share"] or 0))
            lessons = ", ".join(f"lesson{n} ({c})" for n, c in p["lessons"].items())
            exercises = ", ".join(f"{k} ({c})" for k, c in p["exercises"].items())
            parts.append(f'<tr class="pitfall" data-slug="{_e(p["slug"])}"><td><code>{_e(p["slug"])}</code></td>'
                         f'<td class="n"><span class="count">{p["students"]}</span> / {graded}<br>'
                         f'<span class="bar" style="width:{width // 2 + 1}px"></span> {_pct(p["share"])}</td>'
                         f'<td>{_e(lessons)}</td><td>{_e(exercises)}</td>'
                         f'<td>{_e(p["what_en"])}<br><span class="zh">{_e(p["what_zh"])}</span></td>'
                         f'<td>{_e(p["fix_en"])}<br><span class="zh">{_e(p["fix_zh"])}</span></td></tr>')
        parts.append("</table>")
        parts.append('<div class="figures">' + _img(images, "pitfalls.png", "pitfalls by students") + "</div>")
    else:
        parts.append('<p id="pitfall-table">No pitfall was diagnosed in this class. / 本班未诊断出常见错误。</p>')
    unseen = [p["slug"] for p in summary["pitfalls"] if not p["students"]]
    if unseen:
        parts.append(f'<p class="muted">Not seen / 未出现: {_e(", ".join(unseen))}</p>')
    if seen:
        slugs = [p["slug"] for p in seen]
        rows = [(f, m) for f, m in summary["student_pitfalls"].items() if m]
        parts += [_h(3, "Student × pitfall", "学生 × 常见错误"),
                  "<p>Failed tests per student that diagnosed each pitfall. / 每名学生被诊断出各常见错误的失败测试数。</p>",
                  '<table id="student-pitfall-table"><tr><th>student<br><span class="zh">学生</span></th>'
                  + "".join(f"<th><code>{_e(s)}</code></th>" for s in slugs) + "</tr>"]
        for folder, counts in sorted(rows, key=lambda r: (names.get(r[0], r[0]), r[0])):
            parts.append(f"<tr><td>{who(folder)}</td>" + "".join(
                f'<td class="n">{counts.get(s, "") or ""}</td>' for s in slugs) + "</tr>")
        parts.append("</table>")

    # -- items
    items = summary["items"]
    hard = [i for i in items if i["flag"] == "hard"]
    easy = [i for i in items if i["flag"] == "easy"]
    parts += [_h(2, "Items: the tests", "测试项", "items"),
              f"<p>Pass rate of each test; discrimination = pass rate in the top third minus the bottom third of the "
              f"class (by total; – under three students). Flagged: <b>hard</b>, at most {HARD_RATE:.0%} of those who "
              f"attempted the exercise pass (a grader or a teaching problem); <b>easy</b>, every student passes. / "
              f"每个测试的通过率；区分度 = 总分前三分之一的通过率减去后三分之一的通过率（少于三名学生时为 –）。"
              f"标记：<b>难</b>，尝试该练习的学生中至多 {HARD_RATE:.0%} 通过（评分或教学问题）；<b>易</b>，所有学生都通过。</p>",
              f'<p>Almost nobody passes / 几乎无人通过: <b id="hard-count">{len(hard)}</b> · '
              f'Everybody passes / 全部通过: <b id="easy-count">{len(easy)}</b> · tests / 测试数: {len(items)}</p>']
    if hard:
        parts += [_h(3, "Almost nobody passes", "几乎无人通过"), '<ul id="hard-list">']
        parts += [f"<li><code>{_e(i['test'])}</code>: {i['passed']} / {i['students']} passed / 通过 "
                  f"({i['attempted']} attempted / 尝试)</li>" for i in hard]
        parts.append("</ul>")
    if easy:
        shown = ", ".join(i["test"].partition("::")[2] or i["test"] for i in easy[:80])
        more = f" … (+{len(easy) - 80})" if len(easy) > 80 else ""
        parts += [_h(3, "Everybody passes", "全部通过"), f'<p id="easy-list"><code>{_e(shown)}</code>{more}</p>']
    parts.append('<p>Every test, with its pass rate and discrimination: <a href="#all-tests">all tests</a> (at the '
                 'end). / 每个测试的通过率和区分度：见文末<a href="#all-tests">全部测试</a>。</p>')

    # -- exercises
    parts += [_h(2, "Exercises: not attempted, or attempted and failed", "练习：未尝试，或尝试但未通过", "exercises"),
              "<p>Not attempted: the stub is still there (\"not implemented\"), or its file or name is missing. / "
              "未尝试：仍是原始练习桩（“尚未实现”），或缺少文件或名称。</p>",
              '<table id="exercises-table">' + _th(("exercise", "练习"), ("passed", "通过"),
                                                    ("attempted and failed", "尝试但未通过"),
                                                    ("not attempted", "未尝试"), ("who failed", "未通过的学生"))]
    for x in summary["exercises"]:
        failed = ", ".join(names.get(f, f) for f in x["failed_students"])
        parts.append(f'<tr><td>lesson{x["lesson"]} {_e(x["exercise"])}</td><td class="n">{x["passed"]}</td>'
                     f'<td class="n">{x["failed"]}</td><td class="n">{x["not_attempted"]}</td>'
                     f"<td>{_e(failed)}</td></tr>")
    parts.append("</table>")

    # -- who to help
    helped = summary["help"]
    parts += [_h(2, "Who to help", "需要帮助的学生", "help"),
              f"<p>Students below {_num(summary['threshold_percent'], 0)} % of the maximum, lowest first, with their "
              f"first exercise (in course order) that is not passed. / 得分低于满分 {_num(summary['threshold_percent'], 0)} % "
              f"的学生（从低到高），以及他们第一个未通过的练习（按课程顺序）。</p>"]
    if helped:
        parts.append('<table id="help-table">' + _th(("student", "学生"), ("total", "总分"),
                                                       ("first failing exercise", "第一个未通过的练习"),
                                                       ("status", "状态"), ("first failed test", "第一个未通过的测试")))
        status_words = {"failed": "attempted, failed / 尝试但未通过", "not_attempted": "not attempted / 未尝试"}
        for h in helped:
            first = h["first_failing"] or {}
            pitfalls = " ".join(f"[{p}]" for p in first.get("pitfalls", []))
            where = f"lesson{first.get('lesson')} {first.get('exercise')}"
            parts.append(f'<tr><td>{_e(h["student"])}</td><td class="n">{_num(h["score"])} / {_num(h["max_score"], 0)} '
                         f'({_num(h["percent"], 0, " %")})</td>'
                         f'<td>{_e(where) if first else "–"}</td>'
                         f'<td>{_e(status_words.get(first.get("status"), ""))} {_e(pitfalls)}</td>'
                         f'<td><code>{_e(first.get("test", ""))}</code><br>{_e(first.get("message", ""))}</td></tr>')
        parts.append("</table>")
    else:
        parts.append("<p>Nobody is below the threshold. / 没有学生低于该阈值。</p>")

    # -- grader health
    health = summary["health"]
    counts = health["counts"]
    parts += [_h(2, "Grader health", "评分状况", "health"), '<table id="health-table">'
              + _th(("check", "检查项"), ("count", "数量"), ("who", "学生"))]
    rows = (("Not graded (no results)", "未评分（没有结果）", "not_graded", lambda x: f"{x['student']}: {x['reason']}"),
            ("Grading did not finish", "评分未完成", "unfinished", lambda x: x["student"]),
            ("Grader errors (incomplete grading)", "评分程序出错（评分不完整）", "errors",
             lambda x: f"{x['student']}: {'; '.join(x['errors'])}"),
            ("NOT ISOLATED runs (no sandbox)", "未隔离运行（无沙箱）", "not_isolated", lambda x: x["student"]),
            ("Timeouts (by student and function)", "超时（按学生和函数）", "timeouts",
             lambda x: f"{x['student']}: lesson{x['lesson']} {x['exercise']}, {x['count']} test(s) / {x['count']} 个测试 "
                       f"({x['test'].partition('::')[2] or x['test']}"
                       + (f" … +{x['count'] - 1}" if x["count"] > 1 else "") + ")"))
    for en, zh, key, show in rows:
        listed = "<br>".join(_e(show(x)) for x in health[key][:50])
        more = f"<br>… {len(health[key]) - 50} more / 另有 {len(health[key]) - 50} 个" if len(health[key]) > 50 else ""
        parts.append(f'<tr class="{"hard" if counts[key] else ""}"><td>{_e(en)}<br><span class="zh">{_e(zh)}</span>'
                     f'</td><td class="n">{counts[key]}</td><td>{listed}{more}</td></tr>')
    parts.append("</table>")
    parts += [_h(2, "All tests", "全部测试", "all-tests")]
    parts.append('<table id="items-table">' + _th(("test", "测试"), ("exercise", "练习"), ("points", "分值"),
                                                    ("pass rate", "通过率"), ("attempted: pass rate", "尝试者通过率"),
                                                    ("top third", "前三分之一"), ("bottom third", "后三分之一"),
                                                    ("discrimination", "区分度"), ("flag", "标记")))
    flags = {"hard": "hard / 难", "easy": "easy / 易", None: ""}
    for i in items:
        shown = i["test"].partition("::")[2] or i["test"]
        parts.append(f'<tr class="{i["flag"] or ""}"><td><code>{_e(shown)}</code></td>'
                     f'<td>lesson{i["lesson"]} {_e(i["exercise"])}</td><td class="n">{_num(i["max_score"], 0)}</td>'
                     f'<td class="n">{i["passed"]} / {i["students"]}<br>{_pct(i["pass_rate"])}</td>'
                     f'<td class="n">{_pct(i["pass_rate_attempted"])}<br>of / 共 {i["attempted"]}</td>'
                     f'<td class="n">{_pct(i["top_pass_rate"])}</td><td class="n">{_pct(i["bottom_pass_rate"])}</td>'
                     f'<td class="n">{_num(i["discrimination"], 2)}</td>'
                     f'<td class="flag">{_e(flags[i["flag"]])}</td></tr>')
    parts.append("</table>")

    parts.append('<p class="meta">Figures for tools: summary.json; the student × pitfall table: pitfalls.csv. / '
                 "供工具使用的数据：summary.json；学生 × 常见错误表：pitfalls.csv。</p></body></html>")
    return "\n".join(parts) + "\n"


# ------------------------------------------------------------------ files

def pitfall_rows(summary: dict) -> list:
    """The student x pitfall table as CSV rows: submission, folder, one column per slug (failed tests), pitfalls."""
    slugs = [p["slug"] for p in summary["pitfalls"]]
    rows = [["submission", "folder", *slugs, "pitfalls"]]
    for folder, counts in sorted(summary["student_pitfalls"].items(),
                                 key=lambda item: (summary["names"].get(item[0], item[0]), item[0])):
        rows.append([summary["names"].get(folder, folder), folder, *[counts.get(s, 0) for s in slugs],
                     " ".join(s for s in slugs if counts.get(s))])
    return rows


def _csv_text(rows: list) -> str:
    """The CSV of a header and rows; no cell a spreadsheet would run as a formula (neutralise.csv_text)."""
    return neutralise.csv_text(rows[1:], rows[0])


def write(summary: dict, out: str, title: str, csv_path: str = None) -> str:
    """Write index.html, summary.json, pitfalls.csv and the PNGs under `out`; the path of index.html."""
    os.makedirs(out, exist_ok=True)
    images = pictures(summary)
    for name, data in images.items():
        with open(os.path.join(out, name), "wb") as file:
            file.write(data)
    results_model._atomic_write(os.path.join(out, "summary.json"),
                                json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    table = _csv_text(pitfall_rows(summary))
    results_model._atomic_write(os.path.join(out, "pitfalls.csv"), table)
    if csv_path:
        results_model._atomic_write(csv_path, table)
    page = os.path.join(out, "index.html")
    results_model._atomic_write(page, render_html(summary, images, title))
    return page


def report(directory: str, out: str = None, threshold: float = DEFAULT_THRESHOLD, csv_path: str = None) -> tuple:
    """Report on a batch/merge folder: (path of index.html, summary). Raises ReportError."""
    students = load_class(directory)
    summary = summarise(students, threshold, _meta(directory))
    title = os.path.basename(os.path.normpath(os.path.abspath(directory)))
    page = write(summary, out or os.path.join(directory, REPORT_FOLDER), title, csv_path)
    return page, summary


def announce(page: str, summary: dict) -> str:
    """What `batch`, `merge` and `report` print: the page and the top pitfalls (three lines)."""
    return neutralise.terminal("\n".join([f"class report / 班级报告: {page}", *top_lines(summary)]))
