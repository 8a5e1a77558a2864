"""Merge: the output folders of `batch --shard I/N` (one per machine) into one class.

    python -m autograder merge DIR [DIR ...] --out DIR

Each DIR is a shard's --out folder (with its shard.json), a plain `batch` folder, or a folder holding
shard folders (results/ with results/shard-0 ... inside). The output is what one machine's `batch`
of the whole class writes: OUT/<folder>/results.json of every student (copied as written), one
OUT/gradebook.csv (same columns, same row order), OUT/progress.json, and the table on stdout; plus
OUT/merge.json (the shards seen, where each student came from, who is missing or was graded twice).
The order of the DIRs never changes the output.

It refuses (exit 2, nothing written) when the folders were graded with different grader versions or
options, or sliced from different classes or shard counts: such a class has no one gradebook. A student
graded twice with identical results is fine (said, one copy kept); with different results from the same
grader, the finished, complete, higher-scoring one is kept and both are named. It exits 1 when the class
is incomplete (a shard or a student missing, a student unfinished, a grading error), naming whom and
the command that grades just them (`batch --resume` into the merged folder), and 0 otherwise.

合并：把各台机器 `batch --shard I/N` 的输出合并为一个班级（与单机 batch 的输出相同）；
评分程序版本或选项不同则拒绝；班级不完整（缺分片、缺学生）时以非零状态退出并列出缺少的学生。
"""
import json
import os
import sys

from autograder.parent import neutralise, report, results
from autograder.parent.shard import MANIFEST, read_manifest, same_class

EXIT_OK, EXIT_INCOMPLETE, EXIT_REFUSED = 0, 1, 2
RECORD = "merge.json"


class Refused(Exception):
    """The folders cannot make one class (what, which folders, how to fix)."""


def _progress(folder: str) -> dict:
    try:
        with open(os.path.join(folder, "progress.json"), encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _has_results(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, "gradebook.csv")) or any(
        os.path.isfile(os.path.join(folder, name, "results.json")) for name in _subfolders(folder))


def _subfolders(folder: str) -> list:
    try:
        return sorted(e.name for e in os.scandir(folder) if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
    except OSError:
        return []


def sources(dirs: list) -> list:
    """The folders to merge: each DIR, or the shard folders inside it; sorted, each once."""
    found = []
    for given in dirs:
        folder = os.path.abspath(given)
        if not os.path.isdir(folder):
            raise Refused(f"{given}: no such folder (give the --out folders of `batch --shard`)")
        if os.path.isfile(os.path.join(folder, MANIFEST)) or _has_results(folder):
            found.append(folder)
            continue
        inner = [os.path.join(folder, n) for n in _subfolders(folder) if os.path.isfile(os.path.join(folder, n, MANIFEST))]
        if not inner:
            raise Refused(f"{given}: holds neither a shard's results (shard.json, gradebook.csv, <name>/results.json) "
                          "nor shard folders; give the --out folders of `batch --shard`")
        found += inner
    return sorted(set(found))


def _normalised(data: dict) -> dict:
    """A results.json without what differs between two runs that agree: timings, and each lesson's walls
    (they name the run's sandbox uid; whether the sandbox stood stays in extra_data.isolated)."""
    data = json.loads(json.dumps(data))
    data.pop("execution_time", None)
    for lesson in ((data.get("extra_data") or {}).get("lessons") or {}).values():
        if isinstance(lesson, dict):
            lesson.pop("seconds", None)
            lesson.pop("isolation", None)
    for test in data.get("tests") or []:
        if isinstance(test.get("extra_data"), dict):
            test["extra_data"].pop("duration", None)
    return data


def _preference(candidate) -> tuple:
    """Larger is kept: finished, complete, higher score; then a fixed order of the contents (not of the folders)."""
    _, data = candidate
    extra = data.get("extra_data") or {}
    return (bool(extra.get("finished")), bool(extra.get("complete")), float(data.get("score") or 0),
            json.dumps(_normalised(data), sort_keys=True))


def collect(folders: list) -> dict:
    """Read every folder; check they make one class. Raises Refused."""
    manifests = {folder: read_manifest(folder) for folder in folders}
    class_plan = count = None
    first = {}

    def agree(what: str, value, folder: str):
        if what not in first:
            first[what] = (value, folder)
            return
        seen, where = first[what]
        if value != seen:
            fix = {"grader version": "grade every shard with the same checkout of the course (same graders): "
                                     "regrade the odd shard, or merge the shards of one version only",
                   "options": "grade every shard with the same --lessons and --full on the same kind of machine "
                              "(CUDA or not)",
                   "shard count": "merge the shards of one `--shard I/N` run (one N)",
                   "class": "every shard must be sliced from the same class folder: grade them again from one copy"}[what]
            raise Refused(f"different {what}: {where} has {_short(seen)}, {folder} has {_short(value)}; {fix}")

    for folder, manifest in sorted(manifests.items()):
        if manifest:
            agree("grader version", manifest.get("grader_version"), folder)
            agree("options", manifest.get("options"), folder)
            agree("shard count", manifest.get("count"), folder)
            if class_plan is None:
                class_plan, count = manifest.get("class") or [], manifest.get("count")
                first["class"] = (class_plan, folder)
            elif not same_class(class_plan, manifest.get("class") or []):
                agree("class", "another list of students", folder)
        else:
            progress = _progress(folder)
            if progress.get("grader_version"):
                agree("grader version", progress.get("grader_version"), folder)
                agree("options", progress.get("options"), folder)

    candidates = {}  # folder name -> [(source, data)]
    for source in folders:
        manifest = manifests[source]
        names = manifest.get("owned") if manifest else [n for n in _subfolders(source)]
        for name in names or []:
            data = results.read_results_json(os.path.join(source, name))
            if data is None:
                continue
            extra = data.get("extra_data") or {}
            agree("grader version", extra.get("grader_version"), os.path.join(source, name))
            agree("options", extra.get("options"), os.path.join(source, name))
            candidates.setdefault(name, []).append((source, data))
    if not candidates and class_plan is None:
        raise Refused(f"no results in {', '.join(folders)}")
    return {"manifests": manifests, "version": first.get("grader version", (None,))[0],
            "options": first.get("options", ({},))[0] or {}, "class": class_plan, "count": count,
            "candidates": candidates}


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


def merge(dirs: list, out: str) -> dict:
    """Merge; write OUT; return what happened (the merge.json record, plus 'rows' and 'lessons')."""
    folders = sources(dirs)
    target = os.path.abspath(out)
    if target in folders:
        raise Refused(f"--out {out} is one of the folders to merge; give a new folder (for example results/class)")
    found = collect(folders)
    lessons = list((found["options"] or {}).get("lessons") or [])
    if not lessons:
        lessons = sorted({int(n) for pairs in found["candidates"].values() for _, data in pairs
                          for n in ((data.get("extra_data") or {}).get("lessons") or {})})
    if found["class"] is not None:
        students = [(e["name"], e["folder"], e.get("shard")) for e in found["class"]]
    else:
        students = [(results.display_name((data.get("extra_data") or {}).get("submission") or name), name, None)
                    for name, ((_, data), *_) in sorted(found["candidates"].items())]
    known = {folder for _, folder, _ in students}
    students += [((data.get("extra_data") or {}).get("submission") or name, name, None)
                 for name, ((_, data), *_) in sorted(found["candidates"].items()) if name not in known]

    shards_seen = sorted({m["shard"] for m in found["manifests"].values() if m})
    count = found["count"]
    missing_shards = [i for i in range(count) if i not in shards_seen] if count else []
    unfinished_shards = sorted({m["shard"] for m in found["manifests"].values() if m and not m.get("finished")})

    rows, record = [], {"grader_version": found["version"], "options": found["options"], "count": count,
                        "shards": shards_seen, "missing_shards": missing_shards,
                        "unfinished_shards": unfinished_shards, "sources": folders, "students": {},
                        "missing": [], "unfinished": [], "twice_identical": [], "twice_different": []}
    for name, folder, shard_number in students:
        options = found["candidates"].get(folder, [])
        if not options:
            why = (f"not graded: shard {shard_number}/{count} is missing" if shard_number in missing_shards
                   else f"not graded: no results.json in shard {shard_number}/{count}" if shard_number is not None
                   else "not graded")
            rows.append([name, *[""] * len(lessons), "0", "", "0.0", "", why, folder])
            record["missing"].append(name)
            continue
        chosen_source, chosen = max(options, key=_preference)
        if len(options) > 1:
            where = sorted(source for source, _ in options)
            if len({json.dumps(_normalised(d), sort_keys=True) for _, d in options}) == 1:
                record["twice_identical"].append({"student": name, "in": where})
            else:
                record["twice_different"].append({"student": name, "in": where, "scores": sorted(
                    float(d.get("score") or 0) for _, d in options), "kept": chosen_source})
        record["students"][name] = chosen_source
        if not (chosen.get("extra_data") or {}).get("finished", True):
            record["unfinished"].append(name)
        with open(os.path.join(chosen_source, folder, "results.json"), encoding="utf-8") as file:
            text = file.read()
        results._atomic_write(os.path.join(target, folder, "results.json"), text)
        row = results.gradebook_row(chosen, lessons)
        row[0], row[-1] = name, folder
        rows.append(row)
    results.write_gradebook(rows, os.path.join(target, "gradebook.csv"), lessons)
    graded = len(students) - len(record["missing"])
    results._atomic_write(os.path.join(target, "progress.json"), json.dumps({
        "grader_version": found["version"], "options": found["options"], "total": len(students),
        "finished": graded - len(record["unfinished"]), "being_graded": [], "merged_from": folders,
        "write_failures": {}}, ensure_ascii=False, indent=1) + "\n")
    results._atomic_write(os.path.join(target, RECORD), json.dumps(record, ensure_ascii=False, indent=1) + "\n")
    record.update(rows=rows, lessons=lessons, total=len(students))
    return record


def _names(names: list, limit: int = 20) -> str:
    return ", ".join(names[:limit]) + (f" ... ({len(names) - limit} more)" if len(names) > limit else "")


def _say(text: str):
    """A message on stderr, without the control characters a student's name or text may carry."""
    print(neutralise.terminal(text), file=sys.stderr)


def main(dirs: list, out: str) -> int:
    try:
        done = merge(dirs, out)
    except Refused as error:
        _say(f"python -m autograder merge: refused: {error}")
        return EXIT_REFUSED
    rows, lessons = done["rows"], done["lessons"]
    print(report.batch_table(rows, lessons))
    print(neutralise.terminal(f"gradebook: {os.path.join(out, 'gradebook.csv')}"))
    count = done["count"]
    seen = f"shards {', '.join(map(str, done['shards']))} of {count}" if count else f"{len(done['sources'])} folders"
    _say(f"merged {seen}: {done['total'] - len(done['missing'])} of {done['total']} students graded")
    for item in done["twice_identical"]:
        _say(f"graded twice, identical results (one kept): {item['student']} in {', '.join(item['in'])}")
    for item in done["twice_different"]:
        _say(f"graded twice with different results (scores {', '.join(f'{s:g}' for s in item['scores'])}; same "
             f"grader and options): {item['student']}; kept {item['kept']}")
    problems = []
    if done["missing"]:
        problems.append(f"missing students ({len(done['missing'])}): {_names(done['missing'])}"
                        + (f" (shards not given: {', '.join(map(str, done['missing_shards']))} of {count}, numbered "
                           f"0 to {count - 1}; give their folders too, or grade them)" if done["missing_shards"] else ""))
    if done["unfinished"]:
        problems.append(f"unfinished students ({len(done['unfinished'])}, their finished tests kept): "
                        f"{_names(done['unfinished'])}")
    errors = [row[0] for row in rows if row[-2] and row[0] not in done["missing"] and row[0] not in done["unfinished"]]
    if errors:
        problems.append(f"grading errors ({len(errors)}, see their results.json): {_names(errors)}")
    for problem in problems:
        _say(f"python -m autograder merge: {problem}")
    if done["missing"] or done["unfinished"]:
        _say(f"the class is incomplete; to grade only those students into the merged folder: python -m autograder "
              f"batch SUBMISSIONS --out {out} --resume (same --lessons)")
    return EXIT_INCOMPLETE if problems else EXIT_OK
