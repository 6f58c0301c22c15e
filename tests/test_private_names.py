"""Outside ``evplant.line``, no module reaches into another package's private names.

``line/`` keeps its compiled kernels private (``_kernel``, ``_stats``) behind
``LineEngine``; everything else goes through public names. Checked on the sources
with ``ast``:

- ``from X import _y`` or ``import X._y`` where X is a module of another package;
- ``obj._y`` (or ``getattr(obj, "_y")``) where ``_y`` is not defined in the module
  itself: a private attribute of someone else's object (``self._y`` and ``cls._y`` are
  the module's own business).

A package is ``evplant.<first part>``; top-level modules (``evplant/atomic.py``) form
the package ``evplant``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "evplant"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(name: str) -> str:
    """The package a dotted name belongs to: ``evplant.<subpackage>``, ``evplant`` for
    top-level modules, or the distribution's top name (``numpy``)."""
    parts = name.split(".")
    if parts[0] != "evplant":
        return parts[0]
    if len(parts) > 1 and (SRC / parts[1]).is_dir():
        return f"evplant.{parts[1]}"
    return "evplant"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def offences(source: str, module: str, is_package: bool = False) -> list[str]:
    """What ``module`` (its source given) takes privately from other packages."""
    tree = ast.parse(source)
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
    here = package_of(module)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            names = [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            names = []
        for name in names:
            parts = name.split(".")
            if package_of(name) != here and any(_private(p) for p in parts):
                found.append(f"{module}:{node.lineno} imports {name}")
        if isinstance(node, ast.Attribute) and _private(node.attr):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if node.attr not in own:
                found.append(f"{module}:{node.lineno} reads {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
            and node.args[1].value not in own
        ):
            found.append(f"{module}:{node.lineno} reads {ast.unparse(node)}")
    return found


def all_offences() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] == "line":
            continue
        mod = module_name(path, SRC)
        found += offences(path.read_text(), mod, path.name == "__init__.py")
    return found


def test_the_scan_finds_private_imports_and_reads() -> None:
    # the check itself can fail: each kind of offence, planted in a module of the plant
    src = (
        "from ..line import _stats\n"
        "from ..line.engine import _initial_failures, LineEngine\n"
        "from evplant.line._kernel import run_rows\n"
        "import evplant.line._stats\n"
        "import numpy._core\n"
        "x = engine._bins[0]\n"
        "y = getattr(plant, '_variant_share')\n"
    )
    found = offences(src, "evplant.plant.model")
    assert len(found) == 7, found
    assert any("evplant.line._stats" in f for f in found)
    assert any("_initial_failures" in f for f in found)
    assert not any("LineEngine" in f for f in found)


def test_the_scan_allows_own_and_public_names() -> None:
    src = (
        "from __future__ import annotations\n"
        "from .spec import _Model\n"  # the same package
        "from ..line.engine import LineEngine\n"
        "from . import _private_helper\n"
        "class A:\n"
        "    def _own(self):\n"
        "        return self._x, cls._y\n"
        "    def other(self, a):\n"
        "        return a._own()\n"  # a private name defined in this module
        "def f(e):\n"
        "    return e.__dict__, e.public\n"
    )
    assert offences(src, "evplant.plant.model") == []
    assert offences("from ._numba import kernel\n", "evplant.atomic") == []
    assert offences("from .. import _numba\n", "evplant.plant", is_package=True)  # another one
    assert offences("from . import _numba\n", "evplant.plant", is_package=True) == []


def test_resolving_relative_imports() -> None:
    node = ast.parse("from ..line import engine").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _resolve("evplant.plant.model", False, node) == "evplant.line"
    assert _resolve("evplant.plant", True, node) == "evplant.line"
    assert package_of("evplant.line._stats") == "evplant.line"
    assert package_of("evplant.atomic") == "evplant"


def test_no_module_outside_line_takes_private_names_from_another_package() -> None:
    found = all_offences()
    assert found == [], "\n".join(found)
