"""A pytest report becomes a record here, and only here: the `course` command's JSON lines, the notebook checks
and the grading engine's lesson process all read their test results through record_of and merge.

pytest 报告只在这里变成记录：`course` 命令、笔记本检查和评分引擎都通过 record_of 和 merge 读取测试结果。

A record is one test's result: {"nodeid", "outcome" (passed, failed, skipped; "not run" from `course`),
"message" (the text pytest shows), "text" (the message as Text.to_json(), English and Chinese apart, when the
course wrote it; else None), "pitfalls", "not_implemented", "duration", "shown" (a result the test shows even when it passes, as
Text.to_json(): lesson 5's accuracy against the 95 % goal; else None)}. record_of reads one phase (setup, call,
teardown); merge folds the phases of a test into one record: the first failure decides it.
"""


def message_of(report) -> str:
    """What pytest says about a phase: the skip's reason, the course message (or pytest's report) of a failure."""
    if report.passed:
        return ""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    return str(report.longrepr) if report.longrepr is not None else ""


def record_of(report, message: str = None) -> dict:
    """One phase of a test as a record; `message` replaces message_of(report) (the engine's own wording)."""
    properties = dict((key, value) for key, value in report.user_properties if isinstance(key, str))
    return {"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
            "message": "" if report.passed else (message or message_of(report)),
            "text": None if report.passed else properties.get("message"),
            "pitfalls": [str(value) for key, value in report.user_properties if key == "pitfall"],
            "not_implemented": properties.get("not_implemented"), "duration": round(report.duration, 3),
            "shown": properties.get("shown")}


def merge(records: dict, record: dict) -> dict:
    """Fold `record` (one phase, or a line written by record_of) into records[its nodeid] and return that: a
    failure replaces any other outcome, the first one wins; any other outcome that is not "passed" (skipped,
    not run) replaces "passed"; pitfalls add up, durations too."""
    state = records.setdefault(record["nodeid"], {"nodeid": record["nodeid"], "outcome": "passed", "message": "",
                                                  "text": None, "pitfalls": [], "not_implemented": None,
                                                  "duration": 0.0, "shown": None})
    state["duration"] += float(record.get("duration") or 0.0)
    state["pitfalls"] += [slug for slug in record.get("pitfalls") or [] if slug not in state["pitfalls"]]
    state["not_implemented"] = state["not_implemented"] or record.get("not_implemented")
    state["shown"] = state.get("shown") or record.get("shown")
    outcome = record.get("outcome", "failed")
    if (outcome == "failed" and state["outcome"] != "failed") or (outcome != "passed" and state["outcome"] == "passed"):
        state.update(outcome=outcome, message=record.get("message") or "", text=record.get("text"))
    return state
