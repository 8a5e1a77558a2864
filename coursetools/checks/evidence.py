"""What a grader test's pass rests on: `@pytest.mark.rests_on(kind)` on every graded test (or on its module).

The trust invariant (autograder/README.md): a point rests only on what the student's function answered, judged on
the trusted side, or on work the trusted side did itself. Course code inside the student process (the kit's drivers,
spies, probes and reports) may fail a test or name a pitfall, never pass one: a test whose verdict can only come from
there is `feedback` and is worth 0 points. tests/test_evidence.py holds every grader test to one of these kinds and the
engine's README table to the collected tests.

评分依据：每个评分测试都标明它的通过依据什么（见下表）；学生进程中的课程代码只能判为不通过或指出错误，
只能得出那里结论的测试记 0 分。
"""

#: kind -> what a pass of that kind rests on (English, then Chinese)
KINDS = {
    "values": ("what the student's function returned (or did to the arguments it was given), fetched as data and "
               "compared here with torch or the reference",
               "学生函数的返回值（或它对传入参数的修改），作为数据取回，在可信一侧与 torch 或参考答案比较"),
    "replay": ("the state of objects the student's code changed (a model's weights after training), read back as data "
               "and compared with the same steps replayed here",
               "学生代码修改过的对象的状态（训练后的权重），作为数据取回，与在可信一侧重放的同样步骤比较"),
    "secret-data": ("accuracy measured here, on data changed in secret for this grading (the submission could not "
                    "know it in advance), of weights read back as data",
                    "在可信一侧、用本次评分秘密变换过的数据（提交事先无法得知）测得的准确率"),
    "trusted-work": ("work the trusted side did itself, starting from what the student's code gave (a network "
                     "trained here by the reference loop)",
                     "可信一侧自己完成的工作，以学生代码给出的对象为起点（例如在可信一侧用参考循环训练网络）"),
    "feedback": ("only what course code concluded inside the student process: worth 0 points, it can only name a "
                 "pitfall", "只有学生进程中课程代码得出的结论：记 0 分，只能用来指出错误"),
}

MARKER = ("rests_on(kind): what the test's pass rests on (coursetools/checks/evidence.py: "
          + ", ".join(KINDS) + ")")


def kind_of(item) -> str | None:
    """The rests_on kind of a collected pytest item (the closest marker: the test's own, then its module's)."""
    marker = item.get_closest_marker("rests_on")
    return marker.args[0] if marker is not None and marker.args else None
