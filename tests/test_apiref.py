"""docs/api.md is what scripts/apiref writes from the docstrings, every public name is
in it with a docstring, and the examples in those docstrings run."""

from __future__ import annotations

import doctest
import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType

import evplant

ROOT = Path(__file__).parent.parent
SCRIPT = ROOT / "scripts" / "apiref"
API = ROOT / "docs" / "api.md"


def apiref() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("apiref", str(SCRIPT))
    spec = importlib.util.spec_from_loader("apiref", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_api_md_is_up_to_date() -> None:
    written = API.read_text(encoding="utf-8") if API.exists() else ""
    assert written == apiref().render(), (
        "docs/api.md is out of date with the docstrings: run scripts/apiref "
        "(.venv/bin/python scripts/apiref) and commit docs/api.md"
    )


def test_every_public_name_is_documented() -> None:
    ref = apiref()
    text = API.read_text(encoding="utf-8")
    for name in evplant.__all__:
        assert f"\n## `{name}`\n" in text, f"{name} is missing from docs/api.md"
        if name != "__version__":
            assert ref.own_doc(ref.resolve(name)), f"{name} has no docstring of its own"


def test_docstring_examples_run() -> None:
    ref = apiref()
    finder, runner = doctest.DocTestFinder(recurse=False), doctest.DocTestRunner()
    ran = 0
    for name in evplant.__all__[1:]:
        obj = ref.resolve(name)
        for test in finder.find(obj, name, globs={}):
            runner.run(test)
            ran += len(test.examples)
    assert ran > 0
    assert runner.failures == 0, "a docstring example failed (see the output above)"
