"""Student-facing text for what the sandbox saw: exceptions, timeouts, crashes, floods; English then 中文.

A failure inside student code is shown with the lines of the submission it went
through, never with the grader's own source (hidden tests stay hidden).

沙箱看到的问题（异常、超时、崩溃、输出过多）给学生的说明，先英文后中文；只显示提交代码中的行，不显示评分代码。
"""
import os

MAX_MESSAGE = 6000


def _where(lesson):
    return (f"[lesson{lesson}]", f"[第{lesson}课]") if lesson else ("[grader]", "[评分]")


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


def timeout(lesson, seconds: float, during_setup: bool = False, function: str = None, leashed: bool = False,
            repeat: float = 10.0) -> str:
    en, zh = _where(lesson)
    if during_setup:
        return (f"{en} timed out after {seconds:g} s while setting up the test, which imports your file: code at the "
                "top level of the file (training, loading data, an endless loop) runs on import. Move it into a "
                "function; the tests after this one in the same file were not run.\n"
                f"{zh} 准备测试（导入你的文件）时超时（{seconds:g} 秒）：文件顶层的代码（训练、加载数据、死循环）会在导入时运行。"
                "请把它移进函数；同一文件中其后的测试未运行。")
    if function and leashed:
        return (f"{en} {function} ran longer than {seconds:g} s again and was stopped: it ran past its time limit in "
                f"an earlier test, so this test gave it {seconds:g} s, and its other tests are cut short (they fail "
                "without calling it). Look for an endless loop.\n"
                f"{zh} {function} 再次运行超过 {seconds:g} 秒，已被停止：它在之前的测试中已超时，所以本测试只给它 "
                f"{seconds:g} 秒，它的其他测试将被直接终止（不调用它即判为失败）。请检查是否有死循环。")
    if function:
        return (f"{en} {function} ran longer than {seconds:g} s and was stopped: an endless loop, or work that grows "
                "too fast (a loop over every pixel, training far more epochs than asked)? Its other tests get "
                f"{repeat:g} s each from now on (cut short).\n"
                f"{zh} {function} 运行超过 {seconds:g} 秒，已被停止：是死循环，还是计算量过大（逐像素循环、训练轮数远超"
                f"要求）？从现在起它的其他测试每项只有 {repeat:g} 秒（被缩短）。")
    return (f"{en} timed out after {seconds:g} s: the test was stopped. Look for an endless loop, or work that grows "
            "too fast (a loop over every pixel, training far more epochs than asked).\n"
            f"{zh} 超时（{seconds:g} 秒），测试被终止。请检查是否有死循环，或计算量过大（逐像素循环、训练轮数远超要求）。")


def cut_short(lesson, function: str, seconds: float, stops: int) -> str:
    """A call of a function that already ran past its limits `stops` times in this lesson: not run."""
    en, zh = _where(lesson)
    return (f"{en} {function} was not called in this test: it ran past its time limit {stops} times in earlier tests "
            f"(the later ones with {seconds:g} s), so its other tests were cut short. Look for an endless loop "
            f"in {function}.\n"
            f"{zh} 本测试没有调用 {function}：它在之前的测试中已 {stops} 次超时（之后的每次只有 {seconds:g} 秒），"
            f"所以它的其他测试被直接终止。请检查 {function} 中是否有死循环。")


def overtime(lesson, seconds: float) -> str:
    """The test (the grader's own checks of what the code returned included) ran past its time limit."""
    en, zh = _where(lesson)
    return (f"{en} the test ran longer than {seconds:g} s and was stopped while the grader checked what your code "
            "returned: it may be far larger than asked (a dataset or loader much longer than its data, a huge "
            "batch). The rest of the lesson goes on.\n"
            f"{zh} 测试运行超过 {seconds:g} 秒，在评分程序检查你的代码返回值时被停止：返回值可能远大于要求"
            "（数据集或加载器的长度远超其数据、批次过大）。本课其余测试照常进行。")


def output_flood(lesson, limit: int) -> str:
    en, zh = _where(lesson)
    mib = limit / 2**20
    return (f"{en} the test printed more than {mib:g} MiB and was stopped. Remove print calls inside loops.\n"
            f"{zh} 测试输出超过 {mib:g} MiB，已被终止。请删除循环中的 print。")


def died(lesson, status: int, crash: str = "") -> str:
    """The test process ended before it reported (os._exit, a signal, an interpreter crash)."""
    en, zh = _where(lesson)
    if crash:
        return (f"{en} the test was interrupted by your code: {clip(crash, 500)}.\n"
                f"{zh} 测试被你的代码中断：{clip(crash, 500)}。")
    if os.WIFSIGNALED(status):
        signal_number = os.WTERMSIG(status)
        how_en = f"was killed by signal {signal_number}" + (" (out of memory?)" if signal_number == 9 else "")
        how_zh = f"被信号 {signal_number} 终止" + ("（内存不足？）" if signal_number == 9 else "")
    else:
        how_en = f"exited with status {os.WEXITSTATUS(status)}"
        how_zh = f"以状态 {os.WEXITSTATUS(status)} 退出"
    return (f"{en} the test process {how_en} before reporting a result: your code called os._exit(), "
            "crashed the interpreter or used too much memory.\n"
            f"{zh} 测试进程在报告结果之前{how_zh}：你的代码调用了 os._exit()、使解释器崩溃或占用内存过多。")


def grader_error(lesson, detail: str) -> str:
    en, zh = _where(lesson)
    return (f"{en} the grader itself failed here, not your code ({clip(detail, 1500)}). Tell your instructor.\n"
            f"{zh} 这里是评分程序本身出错，而不是你的代码（{clip(detail, 1500)}）。请告诉老师。")


def protocol(lesson, detail: str) -> str:
    """The student process sent something that is not a reply in the wire format."""
    en, zh = _where(lesson)
    return (f"{en} the test process sent a malformed or oversized reply ({clip(detail, 300)}): your code wrote to "
            "the grader's channel or returned something too large to check.\n"
            f"{zh} 测试进程发回了格式错误或过大的回复（{clip(detail, 300)}）：你的代码写入了评分通道，或返回的结果过大。")


def check_error(lesson, error: BaseException) -> str:
    """The check itself raised while examining what the student's code returned."""
    en, zh = _where(lesson)
    detail = clip(f"{type(error).__name__}: {error}", 1500)
    return (f"{en} the check raised {detail} while examining what your code returned: it may be of an unexpected "
            "type or shape.\n"
            f"{zh} 检查你的代码返回值时出现 {detail}：返回值的类型或形状可能不对。")
