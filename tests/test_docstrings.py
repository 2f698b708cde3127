"""Every public function and class of the package has a numpydoc docstring with the sections it needs.

A function that takes parameters documents them under ``Parameters``; one that returns or yields a value
has ``Returns`` (or ``Yields``); one that raises an exception itself has ``Raises``. A class whose
constructor takes parameters documents them under ``Parameters`` (or ``Attributes``, for records).
Sections are numpydoc headings: the name on its own line, underlined with dashes.

ruff's pydocstyle rules (D) check the layout of the sections that are there but not that these are
there, and its pydoclint rules (DOC) are preview-only, hence this test. To see the package-wide count:
``python tests/test_docstrings.py insights``.
"""

import ast
import importlib
import inspect
import pkgutil
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

SECTION = re.compile(r"^[ \t]*(\w+)[ \t]*\n[ \t]*-{3,}[ \t]*$", re.M)
CHECKED_PACKAGE = "insights"


def public_objects(package_name: str) -> Iterator[tuple[str, object]]:
    """Yield ``(qualified name, object)`` for every public function, class and method defined in a package.

    Parameters
    ----------
    package_name : str
        Dotted name of the package; it and its public submodules (no ``_`` in the dotted path) are searched.

    Yields
    ------
    tuple of (str, object)
        The object's qualified name and the function or class itself, for objects defined in that
        module (re-exports are reported once, where they are defined).
    """
    package = importlib.import_module(package_name)
    modules: list[ModuleType] = [package]
    for info in pkgutil.walk_packages(package.__path__, package_name + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            modules.append(importlib.import_module(info.name))
    for module in modules:
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
            elif inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj
                for member_name, member in vars(obj).items():
                    if not member_name.startswith("_") and inspect.isfunction(member):
                        yield f"{module.__name__}.{name}.{member_name}", member


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, without descending into nested functions, lambdas or classes."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def _function_node(function: Callable) -> ast.FunctionDef | ast.AsyncFunctionDef:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)), function
    return node


def missing_sections(obj: object) -> list[str]:
    """Name what the docstring of a function or class lacks, as numpydoc requires it.

    Parameters
    ----------
    obj : function or class
        The object to check.

    Returns
    -------
    list of str
        One entry per missing part, named first (e.g. ``"Returns (it returns a value)"``); empty when the
        docstring is complete.
    """
    doc = inspect.getdoc(obj)
    if not doc:
        return ["docstring (there is none)"]
    sections = set(SECTION.findall(doc))
    missing = []
    if inspect.isclass(obj):
        try:
            takes = [p for p in inspect.signature(obj).parameters if p not in ("args", "kwargs")]
        except (TypeError, ValueError):  # a class without an introspectable constructor
            takes = []
        if takes and not sections & {"Parameters", "Attributes"}:
            missing.append(f"Parameters or Attributes (the constructor takes {', '.join(takes)})")
        return missing
    takes = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
    if takes and "Parameters" not in sections:
        missing.append(f"Parameters (it takes {', '.join(takes)})")
    nodes = list(_own_nodes(_function_node(obj)))
    returns = any(
        isinstance(n, ast.Return)
        and n.value is not None
        and not (isinstance(n.value, ast.Constant) and n.value.value is None)
        for n in nodes
    )
    yields = any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in nodes)
    if yields and "Yields" not in sections:
        missing.append("Yields (it yields values)")
    elif returns and not yields and "Returns" not in sections:
        missing.append("Returns (it returns a value)")
    if any(isinstance(n, ast.Raise) and n.exc is not None for n in nodes) and "Raises" not in sections:
        missing.append("Raises (it raises an exception itself)")
    return missing


CHECKED = sorted(public_objects(CHECKED_PACKAGE), key=lambda item: item[0])


def test_the_check_finds_the_public_api():
    assert len(CHECKED) >= 20, [name for name, _ in CHECKED]


def _bare(x, y):
    """Add.

    Parameters
    ----------
    x, y : float
        Numbers.
    """
    if x is None:
        raise ValueError("x")
    return x + y


def _generator(n):
    """Count.

    Parameters
    ----------
    n : int
        How far.

    Yields
    ------
    int
        Each number.
    """

    def helper():
        return 1  # a nested function's return is not the outer function's

    yield from range(n + helper())


class _Record:
    """A record.

    Parameters
    ----------
    a : int
        Something.
    """

    def __init__(self, a):
        self.a = a


class _Undocumented:
    def __init__(self, a, b):
        self.a = a


def test_the_check_catches_what_it_should():
    assert missing_sections(_bare) == ["Returns (it returns a value)", "Raises (it raises an exception itself)"]
    assert missing_sections(_generator) == []
    assert missing_sections(_Record) == []
    assert missing_sections(_Undocumented) == ["docstring (there is none)"]
    _Undocumented.__doc__ = "Summary only."
    assert missing_sections(_Undocumented) == ["Parameters or Attributes (the constructor takes a, b)"]


@pytest.mark.parametrize("obj", [obj for _, obj in CHECKED], ids=[name for name, _ in CHECKED])
def test_numpydoc_sections(obj):
    missing = missing_sections(obj)
    assert not missing, f"missing: {'; '.join(missing)} (numpydoc sections: a heading underlined with dashes)"


if __name__ == "__main__":  # count the gaps in any package: python tests/test_docstrings.py insights
    target = sys.argv[1] if len(sys.argv) > 1 else CHECKED_PACKAGE
    gaps = {name: missing_sections(obj) for name, obj in public_objects(target)}
    failing = {name: m for name, m in gaps.items() if m}
    for name, m in sorted(failing.items()):
        print(f"{name}: {'; '.join(m)}")
    kinds: dict[str, int] = {}
    for m in failing.values():
        for entry in m:
            kinds[entry.split(" ")[0]] = kinds.get(entry.split(" ")[0], 0) + 1
    print(f"{len(failing)} of {len(gaps)} public objects in {target} lack a section: {kinds}")
