"""The Contamination page through Streamlit's AppTest, on a small seeded corpus holding one bundled HumanEval item
(HumanEval/0) and one hostile benchmark item; every other HumanEval item is kept out. What the page shows is checked
against `check_contamination` and `check_text` on the same index."""
from __future__ import annotations

import html
import json
import random
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from inspector import (
    ContaminationParams,
    build_index,
    check_contamination,
    check_text,
    item_html,
    kept_reports,
    open_benchmark,
    open_index,
)

from .conftest import write_parquet
from .pages import dataframe, no_trouble, open_page

#: a benchmark item that is markup: it must show as text everywhere (planted in the corpus, so it is dirty)
HOSTILE_ITEM = ("<script>alert(1)</script> The hostile question asks whether the seventeen orange lanterns "
                "floating above the quiet harbour were counted twice by the night watchman <b>bold</b>.")
FILLER = "river stone cloud paper window garden lamp music silver table orange bridge quiet morning".split()


def humaneval_item(k: int = 0) -> str:
    return next(r for r in open_benchmark("humaneval").records() if r.index == k).text


def contam_corpus(folder: Path) -> Path:
    """Seeded filler documents; doc 5 holds HumanEval/0 in context, doc 9 the hostile item."""
    rng = random.Random(11)
    rows = [{"id": f"c-{i:02d}", "text": " ".join(rng.choice(FILLER) for _ in range(rng.randint(20, 80)))}
            for i in range(30)]
    rows[5]["text"] = "A forum post with a solution:\n\n" + humaneval_item(0) + "\n\nThanks, that passes."
    rows[9]["text"] = "Seen on a quiz site: " + HOSTILE_ITEM + " End of the quiz."
    write_parquet(folder / "corpus" / "part-0.parquet", rows)
    return folder / "corpus"


@pytest.fixture(scope="module")
def contam_index_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("contam")
    build_index([contam_corpus(folder)], folder / "idx")
    return folder / "idx"


def page(index_dir, monkeypatch, **params) -> AppTest:
    return open_page(index_dir, monkeypatch, "contamination", timeout=90, **params)


def widget(elements, label: str):
    return next(e for e in elements if e.label == label)


def test_humaneval_run_shows_the_api_numbers_and_lands_in_the_bulletin(contam_index_dir, monkeypatch):
    at = page(contam_index_dir, monkeypatch)
    no_trouble(at)
    assert at.checkbox(key="contam_humaneval").value
    assert any("Preset picked automatically: humaneval" in c.value.replace("\\", "") for c in at.caption)
    at.button(key="contam_run").click().run()
    no_trouble(at)
    with open_index(contam_index_dir) as index:
        expected = check_contamination(index, [open_benchmark("humaneval")], ContaminationParams())
        kept = [Path(r.path).name for r in kept_reports(index)]
    name = at.query_params["report"][0] if isinstance(at.query_params["report"], list) else at.query_params["report"]
    assert name in kept  # saved beside the index: the bulletin lists it
    bulletin = dataframe(at, "build")
    assert name in set(bulletin["report"])
    summary = dataframe(at, "mean coverage").iloc[0]
    b = expected.benchmarks[0]
    assert (summary["items"], summary["dirty"], summary["partial"], summary["clean"], summary["any n-gram hit"]) == (
        b.items, b.dirty, b.partial, b.clean, b.any_hit)
    assert summary["mean coverage"] == pytest.approx(b.mean_coverage)
    assert b.dirty >= 1 and (b.dirty + b.partial) < b.items  # the planted item is found, the others kept out
    # the item detail: the most covered item first, its text marked, its evidence linked with the span to mark
    top = max(expected.items, key=lambda i: i.coverage or 0)
    assert top.id == "HumanEval/0" and top.verdict == "dirty"
    assert widget(at.selectbox, "Item").value == "humaneval:0"
    assert [m.value for m in at.metric][:2] == ["dirty", f"{top.coverage:.1%}"]
    text_html = next(h.value for h in at.html if "contam-text" in h.value and "<pre" in h.value)
    assert item_html(top.text, top.spans, top.longest_span, 100_000) in text_html and "<mark>" in text_html
    links = [p.proto for p in at.get("page_link") if "mark=" in p.proto.query_string]
    a, b_ = top.evidence[0].span
    assert links and links[0].query_string == f"doc={top.evidence[0].doc}&mark={a}-{b_}"
    # a filter and another item, kept in the URL
    widget(at.radio, "Verdict").set_value("clean").run()
    no_trouble(at)
    assert at.query_params["verdict"] in ("clean", ["clean"])
    shown = dataframe(at, "longest_match")
    assert set(shown["verdict"]) == {"clean"} and len(shown) == b.clean
    clean = sorted((i for i in expected.items if i.verdict == "clean"), key=lambda i: -(i.coverage or 0))
    assert list(shown["coverage"]) == pytest.approx([i.coverage for i in clean])


def test_a_kept_report_reopens_from_its_url(contam_index_dir, monkeypatch):
    with open_index(contam_index_dir) as index:
        from inspector import keep_report

        report = check_contamination(index, [open_benchmark("humaneval")], ContaminationParams())
        name = keep_report(index, report).name
    at = page(contam_index_dir, monkeypatch, report=name, item="humaneval:0", verdict="dirty")
    no_trouble(at)
    assert widget(at.selectbox, "Open a report").value == name
    assert widget(at.selectbox, "Item").value == "humaneval:0"
    assert widget(at.radio, "Verdict").value == "dirty"
    assert len(dataframe(at, "longest_match")) == report.benchmarks[0].dirty
    assert {b.label for b in at.get("download_button")} >= {"Report (JSON)", "Items (CSV)"}


@pytest.mark.parametrize("params, message", [
    ({"report": "../../etc/passwd"}, "no kept report named '../../etc/passwd'"),
    ({"report": "nothing-like-this.json"}, "no kept report named 'nothing-like-this.json'"),
    ({"verdict": "filthy"}, "verdict must be one of all, dirty, partial, clean, empty, not 'filthy'"),
    ({"item": "humaneval:zero"}, "item must be BENCHMARK:NUMBER"),
    ({"item": "humaneval:0"}, "item needs a report"),
])
def test_bad_urls_are_one_error_box(contam_index_dir, monkeypatch, params, message):
    at = page(contam_index_dir, monkeypatch, **params)
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value.replace("\\", ""), [e.value for e in at.error]


def test_an_item_not_in_the_report_is_one_error_box(contam_index_dir, monkeypatch):
    with open_index(contam_index_dir) as index:
        from inspector import keep_report

        name = keep_report(index, check_contamination(index, [open_benchmark("humaneval")])).name
    at = page(contam_index_dir, monkeypatch, report=name, item="humaneval:999")
    assert not at.exception
    assert len(at.error) == 1 and "this report has no item 'humaneval:999'" in at.error[0].value.replace("\\", "")


def test_check_a_text_shows_its_spans_and_documents(contam_index_dir, monkeypatch):
    pasted = "My model wrote this:\n" + humaneval_item(0)[:600] + "\nand then stopped."
    at = page(contam_index_dir, monkeypatch)
    at.text_area(key="contam_text").input(pasted)
    at.button(key="contam_check_text").click().run()
    no_trouble(at)
    with open_index(contam_index_dir) as index:
        expected = check_text(index, pasted, ContaminationParams())
    assert expected.spans and expected.evidence
    assert [m.value for m in at.metric][:2] == [expected.verdict, f"{expected.coverage:.1%}"]
    body = next(h.value for h in at.html if "<pre" in h.value)
    assert item_html(pasted, expected.spans, expected.longest_span, 100_000) in body
    assert any(p.proto.query_string.startswith(f"doc={expected.evidence[0].doc}&mark=")
               for p in at.get("page_link"))


def test_an_upload_is_checked_and_its_markup_shown_as_text(contam_index_dir, monkeypatch):
    rows = [{"id": "q-hostile", "question": HOSTILE_ITEM, "answer": "no"},
            {"id": "q-plain", "question": "An unrelated question about mountains and tea?", "answer": "yes"}]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    at = page(contam_index_dir, monkeypatch)
    at.checkbox(key="contam_humaneval").uncheck()
    at.file_uploader(key="contam_uploads").set_value(("../../evil name<b>.jsonl", data, "application/json")).run()
    no_trouble(at)
    assert any("Preset picked automatically: gsm8k" in c.value.replace("\\", "") for c in at.caption)
    at.multiselect(key="contam_fields_evil_name_b_").set_value(["question"])
    at.button(key="contam_run").click().run()
    no_trouble(at)
    summary = dataframe(at, "mean coverage").iloc[0]
    assert summary["benchmark"] == "evil_name_b_" and (summary["items"], summary["dirty"]) == (2, 1)
    assert "inspector-upload" not in summary["file"] and "/" not in summary["file"]
    assert widget(at.selectbox, "Item").value == "evil_name_b_:0"
    body = next(h.value for h in at.html if "<pre" in h.value)
    assert "<script>" not in body and "<b>" not in body and "<mark>" in body
    assert "script&gt;alert(1)&lt;/script&gt;" in body and "&lt;b&gt;bold&lt;/b&gt;" in body


@pytest.mark.parametrize("name, content, message", [
    ("broken.parquet", b"PAR1 not really", "broken.parquet: not a readable Parquet file"),
    ("fields.csv", b"a,b\n1,2\n", "No preset matches its fields"),
])
def test_bad_uploads_say_which_file_and_why(contam_index_dir, monkeypatch, name, content, message):
    at = page(contam_index_dir, monkeypatch)
    at.file_uploader(key="contam_uploads").set_value((name, content, "application/octet-stream")).run()
    assert not at.exception
    said = [e.value.replace("\\", "") for e in at.error] + [c.value.replace("\\", "") for c in at.caption]
    assert any(message in s for s in said), said
    assert not any("inspector-upload" in s for s in said)
    assert len(at.error) <= 1


def test_uploads_are_checked_on_the_server_and_named_safely():
    """Streamlit refuses other types itself; the page checks type and size again, and writes an upload only under
    a name made of its last path component."""
    from inspector import BenchmarkError, check_upload, safe_upload_name

    assert safe_upload_name("../../etc/passwd.jsonl") == "passwd.jsonl"
    assert safe_upload_name("..\\a b<c>.csv") == "a_b_c_.csv" and safe_upload_name("...") == "benchmark"
    assert check_upload("x/y.jsonl.gz", 10, 100) == "y.jsonl.gz"
    for name, size, message in [("notes.txt", 10, "not a benchmark file type"), ("big.parquet", 101, "limit is"),
                                ("empty.csv", 0, "empty")]:
        with pytest.raises(BenchmarkError, match=message):
            check_upload(name, size, 100)


def test_document_page_marks_a_span_and_opens_its_window(contam_index_dir, monkeypatch):
    from inspector import Settings

    with open_index(contam_index_dir) as index:
        text = index.document(5).text
    start = text.index("def has_close_elements")
    at = page(contam_index_dir, monkeypatch)
    at.switch_page("pages/document.py")
    at.query_params.update({"doc": "5", "mark": f"{start}-{start + 22}"})
    at.run()
    no_trouble(at)
    body = at.html[0].value
    assert "<mark>def has_close_elements</mark>" in body
    assert html.escape(text[:start]) in body and Settings().document_window_chars > len(text)


@pytest.mark.parametrize("mark, message", [
    ("5-3", "must start before it ends"),
    ("a-b", "must be START-END"),
    ("-1-5", "must be START-END"),
    ("0-99999999", "outside document 5"),
])
def test_bad_marks_are_one_error_box(contam_index_dir, monkeypatch, mark, message):
    at = page(contam_index_dir, monkeypatch)
    at.switch_page("pages/document.py")
    at.query_params.update({"doc": "5", "mark": mark})
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value.replace("\\", ""), [e.value for e in at.error]
