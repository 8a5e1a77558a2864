"""The lesson table: one row per lesson; everything that depends on the lessons reads it.

课程表：每课一行；所有与课程有关的代码都从这里读取。

A lesson N is its two sources, `solutions/lessonN/<topic>.py` (with `hints.toml`, optional) and
`autograder/lessonN/test_<topic>.py` (its tests marked `pytest.mark.lessonN`), plus its row here.
`python -m coursetools generate` then writes `exercises/lessonN/` and the nbgrader notebook; the
`course` command, the grading engine, its scheduling and the pytest markers (registered from this
table by the course's pytest plugin) follow by themselves. Write the pitfalls of a new lesson in
`coursetools/checks/feedback.PITFALLS` and a mutant for each in tests/mutants/<slug>/lessonN/.

`coursetools.LESSONS` ({number: topic}) is a read-only view of this table.
"""
from dataclasses import dataclass
from types import MappingProxyType

from coursetools.text import Text


@dataclass(frozen=True)
class Lesson:
    """One lesson of the course. / 课程中的一课。"""

    number: int
    #: the module of the lesson: solutions/lessonN/<topic>.py, autograder/lessonN/test_<topic>.py
    topic: str
    #: what `course status` calls it (English, 中文)
    title: Text
    #: its graders read the prepared MNIST data (`python -m course_data`): grading refuses to start without it
    needs_mnist: bool = False
    #: its *public* tests read it too: `course` asks the student to prepare the data first
    public_mnist: bool = False
    #: what the student process loads once, before the tests ("torchvision", "mnist"; coursetools/sandbox)
    preload: tuple = ()
    #: when graded, its tests train and measure on the grader's own copy of MNIST, changed in secret for that
    #: grading (coursetools.checks.mnist.changed_copy), and the prepared MNIST is hidden from its student process
    secret_mnist: bool = False
    #: seconds x 10 of one lesson process grading the reference on a 2-core machine: shards are balanced with
    #: it and the longest lessons start first. Only the proportions matter; fixed, so every machine slices alike.
    cost: int = 40
    #: the default wall-clock limit (s) of a test whose student code runs in-process (pytest exercises/lessonN,
    #: `course check`, the notebook checks): a calibrated or marked limit may be longer (checks/pytest_plugin.py)
    time_limit: float = 60.0
    #: the pitfall slugs (coursetools.checks.feedback.PITFALLS) a student can make in this lesson: its graders
    #: name each one, and tests/mutants/<slug>/lessonN/ makes it
    pitfalls: tuple = ()
    #: the lessons with the same `process` are graded by one lesson process and one student process (torch, its
    #: preloads and the sandbox started once for them, their tests one after another). The lessons of a group that
    #: read MNIST must read the same one (the same `secret_mnist`: one mount view); a lesson that reads none can join
    #: either. Two groups of about the same cost: two workers finish a submission together, and a batch starts two
    #: student processes a submission.
    process: str = ""

    @property
    def name(self) -> str:
        """"lesson3": the folder and the pytest marker."""
        return f"lesson{self.number}"

    @property
    def marker(self) -> str:
        """The pytest marker line, `lesson3: lesson 3, data.py, datasets and loaders (real MNIST)`."""
        return (f"{self.name}: lesson {self.number}, {self.topic}.py, {self.title.en}"
                + (" (real MNIST)" if self.needs_mnist else ""))


# The grading costs were measured with `python -m autograder grade solutions --workers 1` (three runs, the mean;
# lesson 5 trains on MNIST, lesson 6 builds ResNet-18, lesson 4's grader trains the student's net on MNIST).
TABLE = (
    Lesson(1, "tensors", Text("tensors", "张量"), cost=40, time_limit=20.0, process="training", pitfalls=(
        "device-mismatch",  # to_device with .cuda() or without .to(device)
        "missing-channel-dim",  # add_channel_dim
        "view-non-contiguous",  # flatten_images (a model's view on its contiguous batch is correct code)
        "tensor-constructor-dtype",  # vector_from_list
        "numpy-on-grad-or-cuda",  # to_numpy
    )),
    Lesson(2, "autograd", Text("autograd", "自动求导"), cost=27, time_limit=20.0, process="training", pitfalls=(
        "no-zero-grad",  # zero_grads that clears nothing
        "numpy-on-grad-or-cuda",  # a loss turned to numpy
        "double-backward",  # accumulated_grad
        "step-before-backward",  # backward on a non-scalar loss
    )),
    Lesson(3, "data", Text("datasets and loaders", "数据集与加载器"), needs_mnist=True, public_mnist=True,
           preload=("torchvision",), cost=46, process="models", pitfalls=(  # torchvision: reads MNIST with it
        "missing-channel-dim",  # (28, 28) samples
        "tensor-constructor-dtype",  # a label made with torch.Tensor
    )),
    # lesson 4's graders read MNIST on the trusted side (its training check trains there): its student process
    # preloads nothing (no data, no optimizer)
    Lesson(4, "model", Text("models", "模型"), needs_mnist=True, cost=76, process="models", pitfalls=(
        "missing-channel-dim",  # a forward that counts on (N, 28, 28)
        "softmax-before-ce",  # softmax in forward
    )),
    Lesson(5, "train", Text("the training loop", "训练循环"), needs_mnist=True, public_mnist=True,
           preload=("mnist",), secret_mnist=True, cost=120, process="training", pitfalls=(
        "no-zero-grad",  # a loop without zero_grad()
        "eval-with-grad",  # evaluate without torch.no_grad()
        "train-eval-mode",  # train_one_epoch / evaluate without train() / eval()
        "device-mismatch",  # the loops with .cuda() or no .to(device)
        "numpy-on-grad-or-cuda",  # evaluate calling .numpy() on outputs
        "double-backward",  # backward twice in train_one_epoch
        "softmax-before-ce",  # softmax between the model and the criterion
        "step-before-backward",  # step before backward in the loop
    )),
    Lesson(6, "advanced", Text("beyond the basics", "更进一步"), preload=("torchvision",), cost=90, process="models",
           pitfalls=(
        "train-eval-mode",  # load_checkpoint left in train mode
        "device-mismatch",  # load_checkpoint with .cuda() or no .to(device)
        "checkpoint-format",  # the pickled module saved; torch.load without map_location
    )),
)

#: number -> Lesson
BY_NUMBER = MappingProxyType({lesson.number: lesson for lesson in TABLE})
#: number -> topic (`coursetools.LESSONS`)
LESSONS = MappingProxyType({lesson.number: lesson.topic for lesson in TABLE})


def lesson(number: int) -> Lesson:
    """The row of lesson `number` (KeyError naming the lessons there are)."""
    try:
        return BY_NUMBER[number]
    except KeyError:
        raise KeyError(f"no lesson {number!r}: the lessons are {', '.join(map(str, BY_NUMBER))}") from None


def numbers() -> tuple:
    """The lesson numbers, in teaching order."""
    return tuple(BY_NUMBER)


def titles() -> dict:
    """{number: (English title, Chinese title)}."""
    return {row.number: (row.title.en, row.title.zh) for row in TABLE}


def mnist_lessons() -> frozenset:
    """The lessons whose graders read the prepared MNIST data."""
    return frozenset(row.number for row in TABLE if row.needs_mnist)


def costs() -> dict:
    """{number: grading cost} (shards are balanced with it)."""
    return {row.number: row.cost for row in TABLE}


def grading_order() -> tuple:
    """The lesson numbers longest first (ties: teaching order), so parallel workers finish together."""
    return tuple(row.number for row in sorted(TABLE, key=lambda row: -row.cost))


def number_in(name, default=None):
    """The lesson number at the head of a test's name or a path ('lesson3/test_data.py::test_x' -> 3); `default`
    when it does not start with one."""
    head = str(name).split("/", 1)[0]
    digits = head[len("lesson"):]
    return int(digits) if head.startswith("lesson") and digits.isdigit() else default


def process_groups(lessons) -> list:
    """`lessons` as the groups graded by one lesson process each (the table's `process`), the groups longest first
    (summed costs; ties: teaching order), and in each group its longest lesson first, the others in teaching order.
    Measured in the 768 MB box (tests/test_box.py): the heaviest lesson runs while its lesson process still holds
    nothing of the others (lesson 6 ran out of memory after lessons 1 to 3), and lesson 3 reads MNIST in its student
    process before lesson 4's graders hold it in the lesson process (after lesson 4 a lesson 3 test ran out)."""
    groups = {}
    for number in sorted(set(lessons)):
        groups.setdefault(lesson(number).process or lesson(number).name, []).append(number)
    ordered = []
    for group in groups.values():
        first = min(group, key=lambda n: (-lesson(n).cost, n))
        ordered.append((first, *[n for n in group if n != first]))
    return sorted(ordered, key=lambda g: (-sum(lesson(n).cost for n in g), sorted(g)))


def preloads(lessons) -> list:
    """What the student process of a group of `lessons` loads once: every lesson's preloads, in table order."""
    return list(dict.fromkeys(item for number in sorted(lessons) for item in lesson(number).preload))


def where_made() -> dict:
    """{pitfall slug: the lessons where a student can make it}, slugs in the order they are first taught."""
    found = {}
    for row in TABLE:
        for slug in row.pitfalls:
            found.setdefault(slug, []).append(row.number)
    return {slug: tuple(numbers) for slug, numbers in found.items()}


def marker_lines() -> list:
    """The `lessonN: ...` lines of the pytest markers (registered by coursetools.checks.pytest_plugin)."""
    return [row.marker for row in TABLE]
