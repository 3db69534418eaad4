"""The package installs like a library: a wheel built from the checkout, installed (not editable) into a fresh
virtual environment, serves the app from any folder, and puts no generic top-level name (`pages`) in site-packages;
every third-party module the code imports is a declared dependency."""
from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from .browser import free_port, metric, wait_until_answering

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[1]
#: what the wheel is built from: the checkout's own files (a copy, so no build/ folder is left in the checkout)
SOURCES = ("pyproject.toml", "README.md", "streamlit_app.py", "inspector", "index", "pages")
FIRST_PARTY = {"inspector", "index", "pages"}


def run(*command, cwd, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel of the checkout, built without downloading anything (the build backend is this machine's)."""
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    built = run(sys.executable, "-m", "pip", "wheel", source, "-w", folder / "dist", "--no-deps",
                "--no-build-isolation", cwd=folder)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (path,) = (folder / "dist").glob("*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment holding the wheel; its dependencies come from this machine's site-packages."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    made = run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv, cwd=venv.parent)
    assert made.returncode == 0, made.stderr[-2000:]
    installed = run(venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
                    "--no-warn-script-location", wheel, cwd=venv.parent)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    return venv


def test_the_wheel_holds_every_module_under_the_package_and_no_other_top_level_name(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    top = {name.split("/")[0] for name in names}
    assert top - {"inspector", "index"} == {name for name in top if name.endswith(".dist-info")}
    checkout = {p.relative_to(ROOT).as_posix() for folder in ("inspector", "index")
                for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts}
    app = {f"inspector/app/{p.relative_to(ROOT).as_posix()}" for p in [ROOT / "streamlit_app.py",
                                                                      *(ROOT / "pages").iterdir()]
           if p.is_file() and p.suffix in (".py", ".js")}
    assert "inspector/app/pages/_label_keys.js" in app and "inspector/demo_corpus.parquet" in names
    assert checkout | app <= names, sorted((checkout | app) - names)


def test_the_installed_app_serves_from_any_folder(venv, index_dir, index, page, tmp_path):
    """`inspector app` of the installed wheel, run from an empty folder, serves the app on the demo index where
    INSPECTOR_DEMO puts it (a copy of a small index, so nothing is built), says where that is, and its Overview
    draws."""
    from playwright.sync_api import expect

    empty = tmp_path / "empty"
    empty.mkdir()
    python = venv / "bin" / "python"
    where = run(python, "-c", "import inspector, inspector.cli; print(inspector.__file__); "
                "print(inspector.cli.app_script())", cwd=empty)
    assert where.returncode == 0, where.stderr[-2000:]
    package, script = map(Path, where.stdout.split())
    assert package.is_relative_to(venv) and script == package.parent / "app" / "streamlit_app.py"
    assert run(python, "-c", "import pages", cwd=empty).returncode != 0  # no generic top-level name installed

    shutil.copytree(index_dir, tmp_path / "demo" / "index")
    port = free_port()
    env = {**os.environ, "STREAMLIT_SERVER_HEADLESS": "true", "INSPECTOR_DEMO": str(tmp_path / "demo")}
    server = subprocess.Popen([venv / "bin" / "inspector", "app", "--port", str(port)], cwd=empty, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(server, url, 90)
        page.goto(url)
        expect(metric(page)).to_have_text(f"{index.n_documents:,}", timeout=30_000)
    finally:
        server.terminate()
        said = server.communicate(timeout=10)[1].decode()
    assert f"the demo index: {tmp_path / 'demo' / 'index'} (INSPECTOR_DEMO=DIR" in said


def test_the_demo_goes_to_the_users_data_folder(monkeypatch, tmp_path):
    """Not the working folder: INSPECTOR_DEMO, else $XDG_DATA_HOME (when absolute, as the XDG spec asks), else
    ~/.local/share, under corpus-inspector/demo."""
    from inspector.demo import demo_folder

    monkeypatch.delenv("INSPECTOR_DEMO", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert demo_folder() == tmp_path / "data" / "corpus-inspector" / "demo"
    for unset in ("relative/data", ""):
        monkeypatch.setenv("XDG_DATA_HOME", unset)
        assert demo_folder() == tmp_path / "home" / ".local" / "share" / "corpus-inspector" / "demo"
    monkeypatch.setenv("INSPECTOR_DEMO", str(tmp_path / "mine"))
    assert demo_folder() == tmp_path / "mine"


def third_party_imports() -> dict[str, set[str]]:
    """Every top-level module the app's and the package's code imports that is neither the standard library's nor
    ours, with the files importing it."""
    found: dict[str, set[str]] = {}
    files = [ROOT / "streamlit_app.py", *(p for f in ("inspector", "index", "pages") for p in (ROOT / f).rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    return found


def distribution_names(requirements: list[str]) -> set[str]:
    return {canonical(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = distribution_names(project["dependencies"])
    ray_extra = distribution_names(project["optional-dependencies"]["ray"])
    providers = importlib.metadata.packages_distributions()
    imports = third_party_imports()
    assert {"pandas", "streamlit", "numpy"} <= set(imports)  # the scan sees what the pages and the engine import
    for module, files in sorted(imports.items()):
        names = {canonical(d) for d in providers.get(module, [])}
        allowed = declared | (ray_extra if module == "ray" else set())
        assert names & allowed, f"{module} (imported by {', '.join(sorted(files))}) comes from {names or 'nothing'}, " \
                                f"which pyproject.toml does not declare"
