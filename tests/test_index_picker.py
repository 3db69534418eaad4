"""Choosing the index folder (AppTest): what an error says to run, `~`, the list of indexes found and opened."""
from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

import pages._shared
from inspector import Settings, build_index, open_index
from inspector.cli import main
from pages._shared import index_label

from .corpora import sample_rows, write_parquet
from .pages import no_trouble

ROOT = Path(__file__).resolve().parents[1]


def run_app(monkeypatch, folder: str, roots: tuple[str, ...] = (), **params) -> AppTest:
    """The app on index `folder` (as typed), confined to `roots` as `inspector app --root` would."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", folder)
    monkeypatch.setattr(pages._shared, "SETTINGS", Settings(app_roots=roots))  # read once per process from the env
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def rerun(at: AppTest) -> AppTest:
    """Run again through the entry script and its sidebar, as the server does (AppTest starts every run in
    Streamlit's old pages-folder mode, which pages._shared leaves by a rerun once per session only)."""
    at.session_state["left_pages_folder_mode"] = False
    return at.run()


def documents(at: AppTest) -> str:
    return {m.label: m.value for m in at.metric}["Documents"]


def test_a_parquet_folder_is_a_corpus_to_build_into_another_folder(tmp_path, monkeypatch):
    """The error names the problem; the command shown (quoted for the shell) builds an index beside the corpus."""
    corpus, out = tmp_path / "my corpus's shards", tmp_path / "my corpus's shards-index"
    write_parquet(corpus / "part-0.parquet", sample_rows(n=30))
    at = run_app(monkeypatch, str(corpus))
    assert not at.exception and len(at.error) == 1
    assert "holds Parquet files" in at.error[0].value and "`" not in at.error[0].value  # no Markdown shown literally
    command = at.code[0].value
    assert command == f"inspector build {shlex.quote(str(corpus))} --out {shlex.quote(str(out))}"
    result = CliRunner().invoke(main, shlex.split(command)[1:])
    assert result.exit_code == 0, result.output
    assert open_index(out).n_documents == 29
    at = run_app(monkeypatch, str(corpus / "part-0.parquet"))
    assert "is a Parquet file" in at.error[0].value
    assert at.code[0].value == f"inspector build {shlex.quote(str(corpus / 'part-0.parquet'))} --out " + shlex.quote(
        str(corpus / "part-0-index"))


def test_a_missing_folder_keeps_the_page_title_above_one_error(tmp_path, monkeypatch):
    at = run_app(monkeypatch, str(tmp_path / "nowhere"))
    assert not at.exception and [t.value for t in at.title] == ["Overview"]
    assert len(at.error) == 1 and "no index at" in at.error[0].value
    assert at.code[0].value == f"inspector build CORPUS_FOLDER --out {tmp_path / 'nowhere'}"
    main_blocks = [type(e).__name__ for e in at.main]
    assert main_blocks.index("Title") < main_blocks.index("Error") < main_blocks.index("Code"), main_blocks
    rerun(at.switch_page("pages/search.py"))
    assert [t.value for t in at.title] == ["Search"] and len(at.error) == 1


def test_a_bad_index_in_the_url_says_so(monkeypatch, index_dir):
    at = run_app(monkeypatch, str(index_dir), index="a\x00b")
    assert not at.exception and len(at.error) == 1 and "NUL" in at.error[0].value
    assert [t.value for t in at.title] == ["Overview"]


def test_a_home_folder_path_opens_locally_and_is_a_plain_name_when_confined(tmp_path, monkeypatch, index_dir):
    """A local app takes `~/` as the home folder; a confined one expands no `~` (whose homes exist would show)."""
    monkeypatch.setenv("HOME", str(index_dir.parent))
    at = run_app(monkeypatch, f"~/{index_dir.name}")
    no_trouble(at)
    assert documents(at) == "59"
    for roots in ((str(index_dir.parent),), (str(tmp_path),)):
        at = run_app(monkeypatch, f"~/{index_dir.name}", roots=roots)
        assert len(at.error) == 1 and "is not under the folders this app may open" in at.error[0].value


@pytest.fixture(scope="module")
def root(corpus_dir, tmp_path_factory):
    """ROOT/one (an index), ROOT/group/two (an index two levels down), ROOT/a/b/three (three levels down: not
    searched), ROOT/outside (a link to an index elsewhere: not followed)."""
    root = tmp_path_factory.mktemp("root")
    build_index([corpus_dir], root / "one")
    build_index([write_parquet(root / "c" / "t.parquet", sample_rows(n=30))], root / "group" / "two")
    build_index([corpus_dir], root / "a" / "b" / "three")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    build_index([corpus_dir], elsewhere / "idx")
    (root / "outside").symlink_to(elsewhere)
    return root


def test_the_sidebar_lists_the_indexes_under_the_roots(root, monkeypatch):
    at = run_app(monkeypatch, str(root / "one"), roots=(str(root),))
    no_trouble(at)
    choice = at.selectbox(key="index_choice")
    assert choice.options == [index_label(str(root / "one")), index_label(str(root / "group" / "two"))]
    assert choice.value == str(root / "one")
    choice.set_value(str(root / "group" / "two"))
    rerun(at)
    no_trouble(at)
    assert documents(at) == "29" and at.query_params["index"] == str(root / "group" / "two")
    assert at.text_input(key="index_path").value == str(root / "group" / "two")


def test_the_sidebar_lists_the_indexes_opened_in_this_session(root, index_dir, monkeypatch):
    """Unconfined: indexes found by the current one and in the working folder, and any opened before."""
    at = run_app(monkeypatch, str(index_dir))
    assert index_label(str(index_dir)) in at.selectbox(key="index_choice").options
    at.text_input(key="index_path").input(str(root / "a" / "b" / "three"))
    rerun(at)
    no_trouble(at)
    options = at.selectbox(key="index_choice").options
    assert options[:2] == [index_label(str(root / "a" / "b" / "three")), index_label(str(index_dir))]
    assert at.selectbox(key="index_choice").value == str(root / "a" / "b" / "three")
    at.selectbox(key="index_choice").set_value(str(index_dir))
    rerun(at)
    no_trouble(at)
    assert at.text_input(key="index_path").value == str(index_dir) and "index" not in at.query_params


def test_a_root_given_from_home_is_expanded(tmp_path, monkeypatch):
    """`inspector app --root=~/corpora` (the shell leaves a ~ after = alone): the home folder's, not ./~/corpora."""
    from inspector.cli import app_roots

    monkeypatch.setenv("HOME", str(tmp_path))
    assert app_roots("127.0.0.1", ("~/corpora",), "x") == [str(tmp_path / "corpora")]


def test_confinement_answers_the_same_whatever_lies_outside(tmp_path, index_dir, monkeypatch):
    """`--root ROOT`: ~user, /proc/PID/root, .. and links (to the index folder or to its build) are all the one
    refusal, whether what they name exists or not; an index under the root opens."""
    import subprocess

    from inspector import IndexMissing, confined_path

    root, outside = tmp_path / "root", tmp_path / "outside"
    shutil.copytree(index_dir, root / "idx")
    shutil.copytree(index_dir, outside / "idx")
    (root / "link").symlink_to(outside)
    name = (outside / "idx" / "CURRENT").read_text().split()[0]
    (root / "linked-build").mkdir()
    shutil.copy(outside / "idx" / "CURRENT", root / "linked-build" / "CURRENT")
    (root / "linked-build" / name).symlink_to(outside / "idx" / name)  # an index folder under the root, its build not
    (root / "linked-current").mkdir()
    (root / "linked-current" / "CURRENT").symlink_to(outside / "idx" / "CURRENT")
    (root / "linked-current" / name).mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    monkeypatch.chdir(tmp_path)
    inside = str(root / "idx")
    refused = [
        f"~root/..{inside}", f"~nosuchuser/..{inside}",  # an account looked up would open the first only
        f"/proc/{os.getpid()}/root{inside}", f"/proc/{dead.pid}/root{inside}",  # a live process's / would open
        f"{root}/../outside/idx", f"{root}/idx/../../outside/idx", f"{root}/../nowhere", "..", "/",
        f"{root}/link/idx", f"{root}/link/nowhere", str(root / "linked-build"), str(root / "linked-current"),
    ]
    messages = set()
    for path in refused:
        with pytest.raises(IndexMissing) as error:
            confined_path(path, (str(root),))
        messages.add(str(error.value))
    assert messages == {f"that folder is not under the folders this app may open ({root})"}
    assert confined_path(inside, (str(root),)) == inside
    assert confined_path(f"{root}/group/../idx", (str(root),)) == inside
    with open_index(confined_path(inside, (str(root),))) as index:
        assert index.n_documents == 59
    at = run_app(monkeypatch, str(root / "linked-build"), roots=(str(root),))
    assert not at.exception and len(at.error) == 1
    assert "that folder is not under the folders this app may open" in at.error[0].value


# -- what a folder that is no index is said to be, and what to run: never a harmful command ----------------------

def test_the_root_temporary_and_home_folders_are_never_indexed_whole(tmp_path, monkeypatch):
    """Each holds Parquet files (the temporary folder: the test's; the home an index too): still no command."""
    import tempfile

    from inspector import NotAnIndex

    home = tmp_path / "home"
    write_parquet(home / "corpus" / "a.parquet", sample_rows(n=30))
    build_index([home / "corpus"], home / "idx")
    monkeypatch.setenv("HOME", str(home))
    for path, what in [("/", "the filesystem root"), ("/tmp", "the temporary folder"),
                       (tempfile.gettempdir(), "the temporary folder"), (str(home), "the home folder"),
                       (str(tmp_path), "a folder holding the home folder"), ("/usr", "a folder right under the")]:
        missing = NotAnIndex(path)
        assert missing.command is None and missing.found == (), path
        assert str(missing).startswith(f"no index at {path}: it is {what}"), str(missing)
        assert "--out" not in missing.advice() and "build" not in missing.advice().split(": it is")[0]
    at = run_app(monkeypatch, "/tmp")
    assert not at.exception and len(at.error) == 1 and not at.code
    assert "the temporary folder" in at.error[0].value


def test_a_file_is_never_given_as_out(tmp_path):
    """A file that is no Parquet: no command; a Parquet file: a new folder beside it, none when that name is taken."""
    from inspector import NotAnIndex

    readme = tmp_path / "README.md"
    readme.write_text("hello")
    missing = NotAnIndex(str(readme))
    assert missing.command is None and str(missing) == f"no index at {readme}: it is a file; an index is a folder " \
                                                       "made by inspector build"
    shard = write_parquet(tmp_path / "s.parquet", sample_rows(n=30))
    assert NotAnIndex(str(shard)).command == f"inspector build {shard} --out {tmp_path / 's-index'}"
    (tmp_path / "s-index").write_text("a file by that name")
    assert NotAnIndex(str(shard)).command is None


def test_an_empty_folder_is_a_place_to_build_into(tmp_path, corpus_dir):
    from inspector import NotAnIndex

    empty = tmp_path / "empty"
    empty.mkdir()
    missing = NotAnIndex(str(empty))
    assert str(missing) == f"no index at {empty}: it is an empty folder"
    assert missing.command == f"inspector build CORPUS_FOLDER --out {empty}"
    command = shlex.split(missing.command.replace("CORPUS_FOLDER", str(corpus_dir)))
    assert CliRunner().invoke(main, command[1:]).exit_code == 0  # the command works as said
    assert open_index(empty).n_documents == 59


def test_a_folder_of_parquet_is_built_beside_and_one_of_other_files_gets_no_command(tmp_path):
    from inspector import NotAnIndex

    corpus = tmp_path / "corpus"
    write_parquet(corpus / "deep" / "a.parquet", sample_rows(n=30))
    assert NotAnIndex(str(corpus)).command == f"inspector build {corpus} --out {tmp_path / 'corpus-index'}"
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x")
    missing = NotAnIndex(str(tmp_path / "notes"))
    assert missing.command is None and str(missing).endswith("it holds neither an index nor Parquet files")


def test_a_folder_holding_an_index_says_where_it_is(tmp_path, index_dir, monkeypatch):
    """data/demo holds data/demo/index (and its corpus): the CLI and the app name the index; the app opens it on a
    click, never unasked."""
    from inspector import NotAnIndex

    holder = tmp_path / "demo"
    shutil.copytree(index_dir, holder / "index")
    write_parquet(holder / "corpus" / "a.parquet", sample_rows(n=30))
    missing = NotAnIndex(str(holder))
    assert str(missing) == f"no index at {holder}: the index is at {holder / 'index'}"
    assert missing.command is None and missing.found == (str(holder / "index"),)
    result = CliRunner().invoke(main, ["count", str(holder), "data"])
    assert result.exit_code == 2
    assert result.output == f"error: no index at {holder}: the index is at {holder / 'index'}\n"
    at = run_app(monkeypatch, str(holder))
    assert not at.exception and len(at.error) == 1 and not at.code
    assert f"the index is at {holder / 'index'}" in at.error[0].value.replace("\\", "")
    assert [t.value for t in at.title] == ["Overview"] and not at.metric  # not opened unasked
    at.button(key="open_found_0").click()
    rerun(at)
    no_trouble(at)
    assert documents(at) == "59" and at.query_params["index"] == str(holder / "index")


def test_the_cli_says_what_a_path_is_in_one_line(tmp_path):
    """A temporary folder, a file, a Parquet folder: one line each, the command only where it does good."""
    (tmp_path / "x.txt").write_text("x")
    corpus = tmp_path / "c"
    write_parquet(corpus / "a.parquet", sample_rows(n=30))
    said = {path: CliRunner().invoke(main, ["count", path, "data"]).output for path in
            ("/tmp", str(tmp_path / "x.txt"), str(corpus), str(tmp_path / ("x" * 3000)))}
    assert said["/tmp"].startswith("error: no index at /tmp: it is the temporary folder")
    assert "--out" not in said["/tmp"]
    assert "--out" not in said[str(tmp_path / "x.txt")]
    assert said[str(corpus)].endswith(f"to build one: inspector build {corpus} --out {tmp_path / 'c-index'}\n")
    assert all(s.count("\n") == 1 for s in said.values())
