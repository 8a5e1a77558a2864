"""Unit tests of coursetools/checks/records.py: the one pytest report -> record converter."""
from types import SimpleNamespace

from coursetools.checks.records import merge, message_of, record_of


def report(when, outcome, longrepr=None, properties=(), duration=0.5, nodeid="lesson1/test_t.py::test_a"):
    return SimpleNamespace(nodeid=nodeid, when=when, outcome=outcome, longrepr=longrepr, duration=duration,
                           user_properties=list(properties), passed=outcome == "passed",
                           failed=outcome == "failed", skipped=outcome == "skipped")


def test_record_of_a_failure_keeps_message_text_pitfalls():
    text = {"en": "[lesson1 f] wrong", "zh": "[第1课 f] 不对"}
    record = record_of(report("call", "failed", "[lesson1 f] wrong\n[第1课 f] 不对",
                              [("pitfall", "no-zero-grad"), ("message", text), ("not_implemented", "f")]))
    assert record == {"nodeid": "lesson1/test_t.py::test_a", "when": "call", "outcome": "failed",
                      "message": "[lesson1 f] wrong\n[第1课 f] 不对", "text": text, "pitfalls": ["no-zero-grad"],
                      "not_implemented": "f", "duration": 0.5, "shown": None}
    assert record_of(report("call", "failed", "raw"), "the engine's words")["message"] == "the engine's words"


def test_record_of_a_skip_and_a_pass():
    assert message_of(report("setup", "skipped", ("file", 1, "Skipped: no CUDA"))) == "Skipped: no CUDA"
    passed = record_of(report("call", "passed", properties=[("message", {"en": "x", "zh": "x"})]))
    assert passed["message"] == "" and passed["text"] is None


def test_merge_the_first_failure_decides():
    records = {}
    for phase in (report("setup", "passed"), report("call", "failed", "first", [("pitfall", "a")]),
                  report("teardown", "failed", "second", [("pitfall", "a"), ("pitfall", "b")])):
        state = merge(records, record_of(phase))
    assert state["outcome"] == "failed" and state["message"] == "first" and state["pitfalls"] == ["a", "b"]
    assert state["duration"] == 1.5 and list(records) == ["lesson1/test_t.py::test_a"]


def test_merge_skips_and_not_run_replace_only_a_pass():
    records = {}
    merge(records, {"nodeid": "n", "outcome": "passed"})
    merge(records, {"nodeid": "n", "outcome": "not run"})
    assert records["n"]["outcome"] == "not run"
    merge(records, {"nodeid": "n", "outcome": "skipped", "message": "later"})
    assert records["n"]["outcome"] == "not run"
    merge(records, {"nodeid": "n", "outcome": "failed", "message": "hung"})
    assert records["n"]["outcome"] == "failed" and records["n"]["message"] == "hung"
