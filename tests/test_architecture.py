"""The engine's shape, enforced: a layer order with no cycles, kinds known only to the kinds package,
no oversized files or functions. docs/authoring.md ("How the engine is built") describes the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "flowcamp"

# Lowest first. A module may import only from its own layer or lower ones (and, inside a package, itself).
LAYERS = [
    {"results", "anatomy", "proc", "prepare", "warehouse", "wire", "reaper", "redact", "explain",
     "sandbox", "stamps", "places", "forking", "warmrun", "serverapp"},
    {"learnerhost"},
    {"course"},
    {"workspace"},
    {"server", "serverwatch", "services", "tidy"},
    {"checks", "worker"},
    {"harness"},
    {"kinds"},
    {"runner", "localrun"},
    {"curriculum", "site", "watching", "grading"},
    {"cli_common"},
    {"cli", "cli_dev", "cli_server", "cli_grade", "cli_gradebook", "cli_submit", "cli_nbgrader"},
    {"launch", "__main__"},
]
MAX_FILE_LINES = 450
MAX_FUNCTION_LINES = 80
DATA_MODULES = {"warehouse/data.py"}  # lists of names and words, not logic


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _top(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _layer(name: str) -> int:
    for i, names in enumerate(LAYERS):
        if name in names:
            return i
    raise AssertionError(f"flowcamp.{name} is in no layer: add it to LAYERS in {__file__}")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level flowcamp module) for every import of flowcamp, at module level or inside functions."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("flowcamp"):
            parts = node.module.split(".")
            if len(parts) == 1:  # from flowcamp import x
                out += [(node.lineno, a.name) for a in node.names]
            else:
                out.append((node.lineno, parts[1]))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[1]) for a in node.names
                    if a.name.startswith("flowcamp.")]
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(SRC).as_posix())
def test_imports_follow_the_layer_order(path):
    me = _top(path)
    if me == "__init__":
        return
    for line, target in _imports(path):
        if target == me:
            continue
        assert _layer(target) <= _layer(me), (
            f"{path.relative_to(SRC)}:{line} imports flowcamp.{target} (layer {_layer(target)}) from layer "
            f"{_layer(me)}: a module may only import from lower layers")


def test_no_import_cycles_at_import_time():
    """Importing every module, each in a fresh interpreter's order, works (a cycle would fail one of them)."""
    import subprocess
    import sys

    names = sorted({"flowcamp." + p.relative_to(SRC).with_suffix("").as_posix().replace("/", ".")
                    .removesuffix(".__init__") for p in _modules()})
    code = "import importlib, sys\nfor n in sys.argv[1:]:\n    importlib.import_module(n)\n"
    for name in names:
        done = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True)
        assert done.returncode == 0, f"importing {name} alone fails:\n{done.stderr[-1500:]}"


def _kind_branches(path: Path) -> list[int]:
    """Lines that compare something's `.kind` (an exercise's kind) with a value."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr == "kind" for s in sides):
                lines.append(node.lineno)
    return lines


def test_no_branch_on_kind_outside_the_kinds_package():
    found = {}
    for path in _modules():
        if _top(path) == "kinds":
            continue
        lines = _kind_branches(path)
        if lines:
            found[path.relative_to(SRC).as_posix()] = lines
    assert not found, f"branches on an exercise's kind outside flowcamp/kinds/: {found}"


def test_files_and_functions_stay_small():
    too_long = []
    for path in _modules():
        rel = path.relative_to(SRC).as_posix()
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_FILE_LINES and rel not in DATA_MODULES:
            too_long.append(f"{rel}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    too_long.append(f"{rel}:{node.lineno} {node.name}(): {n} lines")
    assert not too_long, too_long
