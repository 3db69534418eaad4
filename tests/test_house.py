"""The house's shape (issue 21), read from the source: imports flow pages -> inspector -> index with no circle, no
private name crosses a module, the public API holds each name once and no page helper, and reading an index does
not import the build's corpus reader."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import inspector
from inspector import InvalidQuery
from inspector.query import parse_where

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("inspector", "index", "pages")


def modules() -> dict[str, Path]:
    """Every module of the three packages (and the entry script), by dotted name."""
    found = {"streamlit_app": ROOT / "streamlit_app.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import of a module, at any depth (a function's too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = f"{base}.{node.module}" if node.level and node.module else base if node.level else node.module
            out.append((target, [alias.name for alias in node.names]))
    return out


def graph() -> dict[str, set[str]]:
    """Module -> the modules of the house it imports (`from pkg import mod` counts as importing pkg.mod)."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for target, names in imports(name, path):
            targets |= {f"{target}.{n}" for n in names if f"{target}.{n}" in known}
            if target in known and not (names and all(f"{target}.{n}" in known for n in names)):
                targets.add(target)
        edges[name] = targets - {name}
    return edges


def test_no_import_circle():
    edges = graph()
    # a package's __init__ gathers its modules: an edge into it from one of its own modules is not a circle
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in edges.items()}
    state: dict[str, int] = {}
    circles = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                circles.append(trail[trail.index(target):] + [module, target] if target in trail else [module, target])
            elif target not in state:
                visit(target, trail + [module])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [])
    assert circles == []


def test_imports_flow_down():
    """index imports nothing of inspector or pages; inspector nothing of pages."""
    below = {"index": ("inspector", "pages", "streamlit_app"), "inspector": ("pages", "streamlit_app")}
    wrong = [(name, target) for name, path in modules().items() for target, _ in imports(name, path)
             if target.split(".")[0] in below.get(name.split(".")[0], ())]
    assert wrong == []


def test_no_private_name_crosses_a_module():
    crossing = [(name, target, n) for name, path in modules().items() for target, names in imports(name, path)
                if target.split(".")[0] in PACKAGES for n in names if n.startswith("_")]
    assert crossing == []


def test_the_public_api_holds_each_name_once_and_no_page_helper():
    assert len(inspector.__all__) == len(set(inspector.__all__))
    assert all(hasattr(inspector, name) for name in inspector.__all__)
    page_helpers = {"url_int", "url_text", "url_span", "url_range", "escape_markdown"}
    assert page_helpers.isdisjoint(inspector.__all__) and not any(hasattr(inspector, n) for n in page_helpers)


def test_reading_does_not_import_the_build_reader():
    assert "inspector.corpus" not in graph()["inspector.documents"]


def test_a_filter_message_names_no_cli_flag():
    """The same filter is typed on the Sample page, which has no `--where`: its message names the filter instead."""
    for bad in ("score >> 1", "(a = 1) b = 2"):
        with pytest.raises(InvalidQuery, match="^the metadata filter: "):
            parse_where(bad)
