"""The app through Streamlit's AppTest: every page and mode shows the API's numbers; errors are st.error boxes."""
from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import XSS_TEXT

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(index_dir, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", str(index_dir))
    return AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)


def no_trouble(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_overview_shows_the_index_facts(app, index):
    at = app.run()
    no_trouble(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documents"] == f"{index.n_documents:,}" and metrics["Tokens"] == f"{index.n_tokens:,}"
    assert at.selectbox(key="facet_column").value == "source"
    at.selectbox(key="distribution_column").set_value("quality").run()
    no_trouble(at)


def test_ngram_modes_show_the_api_answers(app, index):
    at = app.run()
    at.switch_page("pages/ngrams.py").run()
    at.text_input(key="ngram_query").input("data model").run()
    no_trouble(at)
    assert at.metric[0].value == f"{index.count('data model').count:,}"
    at.segmented_control(key="ngram_mode").set_value("Next token").run()
    no_trouble(at)
    ntd = index.ntd("data model")
    assert [m.value for m in at.metric] == [f"{ntd.prompt_count:,}", f"{ntd.distinct:,}", f"{ntd.document_ends:,}"]
    at.segmented_control(key="ngram_mode").set_value("∞-gram").run()
    no_trouble(at)
    assert "title=" in at.html[0].value and "data" in at.html[0].value
    at.segmented_control(key="ngram_mode").set_value("Documents").run()
    no_trouble(at)
    found = index.find("data model")
    assert at.metric[0].value == f"{found.count:,}" and len(at.html) == min(10, found.count)


def test_bad_ngram_query_is_an_error_box(app):
    at = app.run()
    at.switch_page("pages/ngrams.py").run()
    at.segmented_control(key="ngram_mode").set_value("Documents").run()
    at.text_input(key="ngram_query").input("data AND (model").run()
    assert not at.exception and "unbalanced parenthesis" in at.error[0].value


def test_search_filters_and_snippets(app, index):
    at = app.run()
    at.switch_page("pages/search.py").run()
    at.text_input(key="search_query").input("data").run()
    no_trouble(at)
    assert at.metric[0].value == f"{index.search('data').total:,}"
    at.multiselect(key="filter_source").set_value(["web"]).run()
    no_trouble(at)
    assert at.metric[0].value == f"{index.search('data', filters=[('source', 'in', ['web'])]).total:,}"
    at.multiselect(key="filter_source").set_value([])
    at.slider(key="filter_quality").set_value((0.5, at.slider(key="filter_quality").max)).run()
    no_trouble(at)
    assert at.metric[0].value == f"{index.search('data', where='quality >= 0.5').total:,}"
    at.slider(key="filter_quality").set_value((at.slider(key="filter_quality").min, at.slider(key="filter_quality").max))
    at.text_input(key="search_query").input("script alert").run()
    snippet = at.html[0].value
    assert "&lt;<mark>script</mark>&gt;" in snippet and "<script>" not in snippet


def test_document_page_escapes_and_marks(app, monkeypatch):
    at = app.run()
    at.switch_page("pages/document.py")
    at.query_params["doc"] = "10"
    at.query_params["ngram"] = "alert"
    at.run()
    no_trouble(at)
    body = at.html[0].value
    assert html.escape(XSS_TEXT).replace("alert", "<mark>alert</mark>") in body
    assert "<script>" not in body and "<img" not in body


def test_missing_and_damaged_index_are_error_boxes(app, index_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("INSPECTOR_INDEX", str(tmp_path / "nowhere"))
    at = app.run()
    assert not at.exception and any("no index at" in e.value for e in at.error)
    damaged = tmp_path / "damaged"
    shutil.copytree(index_dir, damaged)
    build = damaged / (damaged / "CURRENT").read_text().strip()
    (build / "manifest.json").write_text("{")
    monkeypatch.setenv("INSPECTOR_INDEX", str(damaged))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception and any("corrupt or incomplete" in e.value for e in at.error)


def test_long_document_is_shown_in_pieces(tmp_path, monkeypatch):
    from inspector import build_index

    from .conftest import write_parquet

    text = "".join(f"line {i}: the quick brown fox <b>jumps</b>\n" for i in range(100_000))  # 4 MB
    write_parquet(tmp_path / "c" / "long.parquet", [{"id": "long", "text": text}])
    build_index([tmp_path / "c"], tmp_path / "idx", tokenizer="bytes")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", str(tmp_path / "idx"))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.switch_page("pages/document.py")
    at.query_params["doc"] = "0"
    at.query_params["ngram"] = "fox"
    at.run()
    no_trouble(at)
    shown = at.html[0].value
    assert html.escape(text[:19_000]).replace("fox", "<mark>fox</mark>")[:5000] in shown
    assert len(shown) < 40_000 and "&lt;b&gt;jumps&lt;/b&gt;" in shown
    at.button[0].click().run()
    assert "line 468: the quick brown" in at.html[0].value and len(at.html[0].value) > len(shown)


def test_the_app_switches_to_a_rebuilt_index_and_says_so(tmp_path, corpus_dir, monkeypatch):
    from inspector import build_index

    from .conftest import write_parquet

    out = tmp_path / "idx"
    build_index([corpus_dir], out)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", str(out))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    no_trouble(at)
    assert {m.label: m.value for m in at.metric}["Documents"] == "59" and not at.toast
    other = write_parquet(tmp_path / "other" / "a.parquet", [{"text": f"a rebuilt corpus, row {i}"} for i in range(7)])
    build_index([other], out)
    at.run()
    no_trouble(at)
    assert {m.label: m.value for m in at.metric}["Documents"] == "7"
    assert "The index was rebuilt" in at.toast[0].value
    at.run()
    assert not at.toast  # said once


def test_damage_the_quick_open_misses_is_found_in_the_background(tmp_path, corpus_dir, monkeypatch):
    """Opening checks sizes and times; the app then reads every file against its checksum in a thread, and says so."""
    import time

    from inspector import build_index

    from .conftest import damaged_keeping_time

    out = tmp_path / "idx"
    build_index([corpus_dir], out)
    damaged_keeping_time(out)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", str(out))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    deadline = time.time() + 30
    while not at.error and time.time() < deadline:
        time.sleep(0.2)
        at.run()
    assert not at.exception and any("fails its checksum" in e.value for e in at.error)
