"""Marked regions in source files: solution regions and hidden-test regions.

A region starts and ends with a marker comment that stands alone on its line:

    ### BEGIN SOLUTION            ### BEGIN HIDDEN TESTS
    ...                           ...
    ### END SOLUTION              ### END HIDDEN TESTS

Author mistakes (an unclosed or nested region, an END without BEGIN, marker
words anywhere else on a line, the wrong kind of region for the file) raise
RegionError naming the file and the line.
"""
from dataclasses import dataclass

from coursetools import STUB_LINES

SOLUTION = "SOLUTION"
HIDDEN = "HIDDEN TESTS"
_KINDS = (SOLUTION, HIDDEN)


class RegionError(ValueError):
    """A malformed region in a source file, with the file and line it is on."""

    def __init__(self, path, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class Region:
    """One marked region: 1-based line numbers of its two markers, its kind and indentation."""

    kind: str
    begin: int
    end: int
    indent: str


def _marker(line: str):
    """Return (BEGIN|END, kind) when `line` is a marker line, else None."""
    text = line.strip()
    for edge in ("BEGIN", "END"):
        for kind in _KINDS:
            if text == f"### {edge} {kind}":
                return edge, kind
    return None


def _mentions_marker(line: str) -> bool:
    return any(f"{edge} {kind}" in line for edge in ("BEGIN", "END") for kind in _KINDS)


def find_regions(text: str, path, allowed: str) -> list:
    """Parse the regions of `text`; only regions of kind `allowed` may appear.

    Raises:
        RegionError: for any malformed region, naming `path` and the line.
    """
    regions = []
    open_region = None  # (line number, kind, indent)
    for number, line in enumerate(text.splitlines(), start=1):
        marker = _marker(line)
        if marker is None:
            if _mentions_marker(line):
                raise RegionError(path, number, "marker words inside other text (a string, a comment or prose); "
                                  "a marker must stand alone on its line, and marker words appear nowhere else")
            continue
        edge, kind = marker
        if kind != allowed:
            raise RegionError(path, number, f"'### {edge} {kind}' does not belong in this file "
                              f"(only '{allowed}' regions are allowed here)")
        indent = line[: len(line) - len(line.lstrip())]
        if edge == "BEGIN":
            if open_region is not None:
                raise RegionError(path, number, f"nested region: the region opened at line {open_region[0]} "
                                  "is not closed yet")
            open_region = (number, kind, indent)
        else:
            if open_region is None:
                raise RegionError(path, number, f"'### END {kind}' without a matching '### BEGIN {kind}'")
            if indent != open_region[2]:
                raise RegionError(path, number, f"END marker indented differently from its BEGIN at line "
                                  f"{open_region[0]}")
            regions.append(Region(kind, open_region[0], number, open_region[2]))
            open_region = None
    if open_region is not None:
        raise RegionError(path, open_region[0], f"'### BEGIN {open_region[1]}' is never closed")
    return regions


def _rewrite(text: str, regions: list, replacement) -> str:
    lines = text.splitlines(keepends=True)
    out = []
    position = 0
    for region in regions:
        out.extend(lines[position : region.begin - 1])
        out.extend(replacement(region))
        position = region.end
    out.extend(lines[position:])
    return "".join(out)


def make_stub(text: str, path) -> str:
    """Replace every solution region of `text` by the stub, keeping the region's indentation."""
    regions = find_regions(text, path, SOLUTION)
    if not regions:
        raise RegionError(path, 1, "no '### BEGIN SOLUTION' region: a lesson file needs at least one exercise")
    return _rewrite(text, regions, lambda r: [f"{r.indent}{line}\n" for line in STUB_LINES])


def strip_hidden(text: str, path) -> str:
    """Remove every hidden-test region of `text`, markers included."""
    regions = find_regions(text, path, HIDDEN)
    stripped = _rewrite(text, regions, lambda r: [])
    while "\n\n\n\n" in stripped:  # a removed region leaves at most two blank lines
        stripped = stripped.replace("\n\n\n\n", "\n\n\n")
    return stripped
