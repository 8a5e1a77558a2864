"""The notebooks' pictures (coursetools/kernel/figures.py): the real cause when there is no picture, titles in
English then Chinese without a flood of "Glyph missing" warnings, and the lesson 5 demo's accuracy explained."""
import warnings

import nbformat
import pytest

from coursetools import REPO_ROOT
from coursetools.authoring.figures import FIGURES
from coursetools.authoring.notebooks import notebook_path
from coursetools.kernel import figures as notebook_figures
from coursetools.kernel.figures import set_title, why_no_picture

NORMALIZE_FIRST = ("def mnist_transform():\n    return transforms.Compose([transforms.Normalize((MNIST_MEAN,), "
                   "(MNIST_STD,)), transforms.ToTensor()])\n")


def _lesson3(*overrides):
    """The namespace of a lesson 3 notebook: the reference cells, then `overrides`, each compiled as a kernel cell."""
    namespace = {"__name__": "__main__"}
    cells = nbformat.read(str(notebook_path(REPO_ROOT, 3)), as_version=4).cells
    sources = [c.source for c in cells if c.metadata.get("course", {}).get("role") in ("setup", "exercise")]
    for number, source in enumerate([*sources, *overrides]):
        exec(compile(source, f"/tmp/ipykernel_0/{number}.py", "exec"), namespace)
    return namespace


def _draw(code, namespace, capsys):
    """Run a picture cell with the Agg backend; (what it printed, the warnings it raised)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(code, "/tmp/ipykernel_0/picture.py", "exec"), namespace)
        for number in plt.get_fignums():
            plt.figure(number).canvas.draw()  # render the text: a missing glyph warns here
    plt.close("all")
    return capsys.readouterr().out, [str(w.message) for w in caught]


@pytest.mark.mnist
def test_the_digit_grid_names_the_transform_order(capsys):
    """Check the lesson 3 picture with Normalize before ToTensor: it names the order, not "write load_mnist first"."""
    out, _ = _draw(FIGURES[3][0][2], _lesson3(NORMALIZE_FIRST), capsys)
    assert "write load_mnist and make_loaders first" not in out
    assert "mnist_transform runs Normalize -> ToTensor" in out and "ToTensor must come first" in out
    assert "必须先 ToTensor" in out and len(out.strip().splitlines()) == 2


def test_no_picture_names_the_stub_or_the_failing_line():
    """Check why_no_picture: a stub is named as such; another error names the function and line that raised it."""
    namespace = _lesson3("def make_loaders(train_set, test_set, batch_size=64):\n    raise NotImplementedError()\n",
                         "def load_mnist(root, train, transform=None):\n    return [1][2]\n")
    for call, expected in (("make_loaders(None, None)", "make_loaders is not implemented yet"),
                           ("load_mnist('x', True)", "load_mnist, line 2 raised IndexError: list index out of range")):
        try:
            exec(compile(call, "/tmp/ipykernel_0/picture.py", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 (whatever the figure raises is what we read)
            text = why_no_picture(error, namespace, ("load_mnist", "make_loaders"))
        en, zh = text.splitlines()
        assert expected in en and "暂时没有图片" in zh


@pytest.mark.mnist
def test_a_picture_draws_with_bilingual_titles_and_no_glyph_warning(capsys):
    """Check the digit grid draws (reference code) without any 'Glyph ... missing' warning, with both titles shown:
    in the picture when the machine has a Chinese font, else the Chinese line printed above it."""
    out, caught = _draw(FIGURES[3][0][2], _lesson3(), capsys)
    assert not [w for w in caught if "Glyph" in w and "missing" in w], caught
    if notebook_figures.chinese_font() is None:
        assert "one batch: images (32, 1, 28, 28) and their labels / 一个批次：图像 (32, 1, 28, 28) 及其标签" in out


def test_titles_are_english_then_chinese(monkeypatch, capsys):
    """Check set_title: with a Chinese font, 'English\\nChinese' in that font after the usual one; without, the
    English title and the Chinese printed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    monkeypatch.setattr(notebook_figures, "_chinese_font", ["Some CJK Font"])
    title = set_title(ax, "training loss", "训练损失")
    assert title.get_text() == "training loss\n训练损失" and title.get_fontfamily()[-1] == "Some CJK Font"
    monkeypatch.setattr(notebook_figures, "_chinese_font", [None])
    title = set_title(figure, "one batch", "一个批次")
    assert title.get_text() == "one batch" and capsys.readouterr().out == "one batch / 一个批次\n"
    plt.close("all")


def test_the_font_search_skips_matplotlibs_placeholder_font(monkeypatch):
    """Check that 'Last Resort' (a box for every character) never counts as a Chinese font."""
    from matplotlib import font_manager

    fonts = [f for f in font_manager.fontManager.ttflist if "Last Resort" in f.name or f.name == "DejaVu Sans"]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", fonts)
    assert notebook_figures._find_chinese_font() is None


def test_every_figure_title_is_bilingual():
    """Check no picture cell titles a figure in English only (plt.title, suptitle or set_title with one text)."""
    for lesson, figures in FIGURES.items():
        for _, _, code in figures:
            assert "suptitle(" not in code and "plt.title(" not in code, lesson
            assert code.count("set_title(") - code.count("ax.set_title(") >= 1, lesson


def test_the_lesson5_demo_explains_its_accuracy():
    """Check the lesson 5 demo says why it shows about 0.93 under a lesson titled 'above 95 %': a quick demo, and
    the 95 % is train_mnist's full run, in the Markdown above it and in what it prints, in both languages."""
    [(_, text, curve), (_, _, predictions)] = FIGURES[5]
    assert "0.93" in text and "train_mnist" in text and "60,000 images, 2 epochs" in text and "完整训练" in text
    assert "quick demo" in predictions and "The 95 % of this lesson is train_mnist's full run" in predictions
    assert "本课的 95% 指的是 train_mnist 的完整训练" in predictions
    assert "30 slices of MNIST (1,000 images each)" in curve  # what "30,000 images, seen once" refers to
