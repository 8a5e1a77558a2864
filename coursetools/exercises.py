"""Which exercise a test checks, and the public names of a lesson module: one rule for everyone.

一条规则：某个测试检查的是哪个练习，以及一课模块的公开名称。

Used by `course` (which function a failing public test is about), the notebooks'
check cells (which tests a cell runs), the grading engine's notebook scores and
the class report. A test belongs to the last exercise its name mentions in
snake_case (`test_flatten_images_...` -> `flatten_images`, `test_simple_mnist_net_...`
-> `SimpleMNISTNet`, `test_train_one_epoch_and_evaluate_...` -> `evaluate`, so every
exercise it needs is written before its check cell runs); a test that mentions none
goes with the last exercise its body uses, else with the lesson's last exercise.
"""
import ast
import re


def snake_case(name: str) -> str:
    """`SimpleMNISTNet` -> `simple_mnist_net`; `flatten_images` stays as it is."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def public_definitions(tree: ast.Module) -> list:
    """The public top-level function and class definitions (ast nodes) of a parsed lesson module, in source order:
    the one reading of a module's public names (exercise_names, `course`'s lesson files, the hints check)."""
    return [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and not node.name.startswith("_")]


def exercise_names(module_text: str) -> list:
    """The public top-level functions and classes of a lesson module, in source order."""
    return [node.name for node in public_definitions(ast.parse(module_text))]


def _is_fixture(node) -> bool:
    return any("fixture" in ast.unparse(decorator) for decorator in node.decorator_list)


def grader_tests(test_text: str) -> list:
    """The test functions (top-level `test_*` functions that are not fixtures) of a test file, in order."""
    tree = ast.parse(test_text)
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and node.name.startswith("test_") and not _is_fixture(node)]


def exercise_of(test_name: str, exercises: list, called=()) -> str:
    """The exercise whose check runs `test_name`.

    That is the last exercise, in the module's order, that the test's name mentions
    (`test_train_one_epoch_and_evaluate_reach_95_percent` -> `evaluate`), so every
    exercise the test needs is defined before its check cell runs. A test that
    mentions none goes with the last exercise of `called` (the attributes its body
    reads: `advanced.build_finetune_model(...)`, see owners), and a test that
    calls none either with the last exercise, when all of the lesson's code is defined.
    """
    if not exercises:
        raise ValueError("a lesson module without functions or classes has no exercise for the tests")
    words = test_name + "_"
    mentioned = [name for name in exercises if f"_{snake_case(name)}_" in words]
    if mentioned:
        return mentioned[-1]
    used = [name for name in exercises if name in set(called)]
    return used[-1] if used else exercises[-1]


def owners(test_text: str, exercises: list) -> dict:
    """{test function: the exercise whose check runs it} for a test file (exercise_of with the body's calls)."""
    tree = ast.parse(test_text)
    return {node.name: exercise_of(node.name, exercises,
                                   {part.attr for part in ast.walk(node) if isinstance(part, ast.Attribute)})
            for node in tree.body if isinstance(node, ast.FunctionDef)
            and node.name.startswith("test_") and not _is_fixture(node)}
