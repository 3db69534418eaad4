"""The Contamination page through Streamlit's AppTest, on a small seeded corpus holding one bundled HumanEval item
(HumanEval/0) and one hostile benchmark item; every other HumanEval item is kept out. What the page shows is checked
against `check_contamination` and `check_text` on the same index."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from inspector import (
    ContaminationParams,
    build_index,
    check_contamination,
    check_text,
    keep_report,
    kept_reports,
    missed_note,
    open_benchmark,
    open_index,
)
from pages._contamination_view import MEASURE_HELP, item_html, measure_help

from .corpora import HOSTILE_ITEM, contam_corpus, humaneval_item, write_parquet
from .pages import dataframe, no_trouble, open_page


def page(index_dir, monkeypatch, **params) -> AppTest:
    return open_page(index_dir, monkeypatch, "contamination", timeout=90, **params)


def widget(elements, label: str):
    return next(e for e in elements if e.label == label)


def url(at: AppTest, name: str) -> str:
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def everything_shown(at: AppTest) -> str:
    """Every element the page sent, as text (labels, values, help, tables' bytes): what a user could see anywhere."""
    def walk(node):
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return "\n".join(str(getattr(node, "proto", "")) for node in walk(at._tree))


def column_help(at: AppTest, column: str) -> dict[str, str]:
    """{column: its help} of the first table on the page with this column."""
    table = next(d for d in at.dataframe if column in d.value.columns)
    return {name: config.get("help") for name, config in json.loads(table.proto.columns).items() if name != "_index"}


def upload(at: AppTest, name: str, rows: list, run: bool = True) -> AppTest:
    """Upload JSONL rows (a str row is written as it is: a malformed line) instead of the bundled HumanEval."""
    data = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()
    at.checkbox(key="contam_humaneval").uncheck()
    at.file_uploader(key="contam_uploads").set_value((name, data, "application/json"))
    return at.run() if run else at


@pytest.mark.slow
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
    assert item_html(top.text, top.spans, top.longest_span, 100_000, top.template_spans) in text_html
    assert "<mark>" in text_html
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


@pytest.mark.smoke
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
    assert item_html(pasted, expected.spans, expected.longest_span, 100_000, expected.template_spans) in body
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
    assert "evil_name_b_: evil name<b>.jsonl · fields question" in " ".join(c.value.replace("\\", "")
                                                                          for c in at.caption)
    assert widget(at.selectbox, "Item").value == "evil_name_b_:0"
    body = next(h.value for h in at.html if "<pre" in h.value)
    assert "<script>" not in body and "<b>" not in body and "<mark>" in body
    shown = html.unescape(re.sub(r"<[^>]*>", "", body.split('<pre class="contam-text">', 1)[1]))
    assert shown == HOSTILE_ITEM  # the markup is all text: nothing of it became a tag


@pytest.mark.parametrize("name, content, message", [
    ("broken.parquet", b"PAR1 not really", "broken.parquet: not a readable Parquet file"),
    ("fields.csv", b"a,b\n1,2\n", "No preset matches its fields"),
    ("my quiz.json", b'[\n{"question": "a", "answer": "b"},\n{oops}\n]', "my quiz.json:3:2: not valid JSON"),
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
    from inspector import BenchmarkError
    from pages._contamination_view import check_upload, safe_upload_name

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


# -- names, help, tables, match modes, templates ---------------------------------------------------------------------

QUIZ = [{"question": f"Question number {k} asks about {w} and nothing else at all?", "answer": w}
        for k, w in enumerate(["tea", "rivers", "lamps", "bridges", "paper", "clouds", "music", "stone", "glass",
                               "silver", "orange"])]


def test_an_upload_is_named_as_uploaded_in_problems_and_in_its_kept_report(contam_index_dir, monkeypatch):
    """A malformed line 10 is `x.jsonl:10` on the page and in the kept report; the temporary folder the upload was
    read from is named nowhere."""
    rows = [{"question": HOSTILE_ITEM, "answer": "no"}] + QUIZ[:8] + ["{this is not json"] + QUIZ[8:]
    at = upload(page(contam_index_dir, monkeypatch), "x.jsonl", rows)
    no_trouble(at)
    at.button(key="contam_run").click().run()
    no_trouble(at)
    problems = next(e for e in at.expander if e.label.replace("\\", "") == "x: 1 record(s) skipped")
    said = problems.text[0].value
    assert said.startswith("x.jsonl:10: not valid JSON"), said
    assert "x: x.jsonl · preset gsm8k · fields question, answer" in [c.value.replace("\\", "") for c in at.caption]
    assert "inspector-upload" not in everything_shown(at)
    kept = (contam_index_dir / "reports" / url(at, "report")).read_text()
    assert "inspector-upload" not in kept
    report = json.loads(kept)
    assert report["benchmarks"][0]["file"] == "x.jsonl"
    assert report["benchmarks"][0]["problems"] == [said]


def test_the_page_and_the_cli_start_at_the_checks_own_defaults(contam_index_dir, monkeypatch):
    """The defaults are written once, as ContaminationParams' fields: the page's inputs and the CLI's options take
    them from there."""
    from inspector.cli import contam

    defaults = ContaminationParams()
    at = page(contam_index_dir, monkeypatch)
    assert [at.number_input(key=k).value for k in ("contam_n", "contam_min_match", "contam_evidence")] == [
        defaults.n, defaults.min_match, defaults.evidence_documents]
    assert at.slider(key="contam_thresholds").value == (defaults.clean_below, defaults.dirty_from)
    assert at.radio(key="contam_match").value == defaults.match
    assert at.toggle(key="contam_count_templates").value == defaults.count_templates
    options = {option.name: option.default for option in contam.params}
    assert [options[k] for k in ("n", "min_match", "clean_below", "dirty_from", "match", "max_items", "max_chars")] == [
        defaults.n, defaults.min_match, defaults.clean_below, defaults.dirty_from, defaults.match, defaults.max_items,
        defaults.max_text_chars]


def test_every_number_explains_itself_where_it_is_shown(contam_index_dir, monkeypatch):
    at = page(contam_index_dir, monkeypatch)
    assert at.number_input(key="contam_n").help == MEASURE_HELP["n"]
    assert at.number_input(key="contam_min_match").help == MEASURE_HELP["L"]
    assert at.slider(key="contam_thresholds").help == MEASURE_HELP["thresholds"]
    params = ContaminationParams(n=9, min_match=11)
    at.number_input(key="contam_n").set_value(9)
    at.number_input(key="contam_min_match").set_value(11)
    at.button(key="contam_run").click().run()
    no_trouble(at)
    helps = measure_help(params)
    assert "n=9" in helps["overlap"] and "L=11" in helps["coverage"] and "80%" in helps["verdict"]
    summary = column_help(at, "mean coverage")
    assert summary == {c: helps[c] for c in summary} and {"any n-gram hit", "mean overlap"} <= set(summary)
    assert set(summary) == set(dataframe(at, "mean coverage").columns)  # every column explains itself
    items = column_help(at, "longest_match")
    assert items["coverage"] == helps["coverage"] and items["overlap"] == helps["overlap"]
    metrics = {m.label: m.proto.help for m in at.metric}
    assert metrics["Coverage"] == helps["coverage"] and metrics["Verdict"] == helps["verdict"]
    assert metrics["N-gram overlap"].startswith(helps["overlap"])


def test_a_table_row_opens_its_item_and_missing_ids_are_blank(contam_index_dir, monkeypatch):
    at = upload(page(contam_index_dir, monkeypatch), "quiz.jsonl", [{"question": HOSTILE_ITEM, "answer": "no"}] + QUIZ)
    at.button(key="contam_run").click().run()
    no_trouble(at)
    table = next(d for d in at.dataframe if "longest_match" in d.value.columns)
    assert set(table.value["id"]) == {None}  # no ids: shown blank (Streamlit's default shows "None")
    assert table.proto.HasField("placeholder") and table.proto.placeholder == ""
    assert "None" not in " ".join(widget(at.selectbox, "Item").options)
    third = table.value["item"].iloc[2]
    assert widget(at.selectbox, "Item").value != third
    at.session_state[f"contam_items_{url(at, 'report')}_all_desc"] = {"selection": {"rows": [2], "columns": []}}
    at.run()
    no_trouble(at)
    assert url(at, "item") == third and widget(at.selectbox, "Item").value == third


@pytest.fixture(scope="module")
def exact_index_dir(tmp_path_factory):
    """The contamination corpus indexed without normalised shards: only exact matching can run on it."""
    folder = tmp_path_factory.mktemp("contam-exact")
    build_index([contam_corpus(folder)], folder / "idx", normalized=False)
    return folder / "idx"


def test_without_normalised_shards_the_page_says_what_is_missed(exact_index_dir, monkeypatch):
    at = page(exact_index_dir, monkeypatch)
    match = at.radio(key="contam_match_exact")
    assert match.disabled and match.options == ["exact (this index has no normalised shards)"]
    assert missed_note("exact") in [c.value for c in at.caption]
    at.button(key="contam_run").click().run()
    no_trouble(at)
    assert [i.value for i in at.info] == [missed_note("exact")]


@pytest.fixture(scope="module")
def normalized_index_dir(tmp_path_factory):
    """The contamination corpus, plus HumanEval/2 re-cased and re-wrapped (only normalised matching finds it),
    indexed with normalised shards."""
    folder = tmp_path_factory.mktemp("contam-normalized")
    corpus = contam_corpus(folder)
    rows = pq.read_table(corpus / "part-0.parquet").to_pylist()
    rows[12]["text"] = "Copied badly: " + " ".join(humaneval_item(2).upper().split()) + " The end."
    write_parquet(corpus / "part-0.parquet", rows)
    build_index([corpus], folder / "idx", normalized=True)
    return folder / "idx"


def test_with_normalised_shards_both_ways_run_by_default_and_each_item_says_which(normalized_index_dir, monkeypatch):
    at = page(normalized_index_dir, monkeypatch)
    match = at.radio(key="contam_match")
    assert match.value == "auto" and match.options[0] == "both ways" and not match.disabled
    at.button(key="contam_run").click().run()
    no_trouble(at)
    assert not at.info  # nothing missed
    with open_index(normalized_index_dir) as index:
        expected = check_contamination(index, [open_benchmark("humaneval")], ContaminationParams())
    assert expected.mode == "both"
    by = {i.index: i for i in expected.items}
    assert by[2].matched_by == "normalized" and by[0].matched_by in ("exact", "both")
    table = dataframe(at, "longest_match")
    assert dict(zip(table["item"], table["matched_by"])) == {f"humaneval:{i.index}": i.matched_by
                                                             for i in expected.items}
    at.query_params["item"] = "humaneval:2"
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Matched by"] == "normalized" and metrics["Verdict"] == by[2].verdict == "dirty"
    # exact only, as chosen: the re-cased copy is no longer found, and no note says it is missed (it was chosen)
    at.radio(key="contam_match").set_value("exact").run()
    at.button(key="contam_run").click().run()
    no_trouble(at)
    assert not at.info
    with open_index(normalized_index_dir) as index:
        exact = check_contamination(index, [open_benchmark("humaneval")], ContaminationParams(match="exact"))
    assert exact.mode == "exact" and exact.items[2].verdict != "dirty"
    table = dataframe(at, "longest_match")
    assert dict(zip(table["item"], table["verdict"])) == {f"humaneval:{i.index}": i.verdict for i in exact.items}


def test_template_text_is_greyed_reported_apart_and_counted_on_demand(contam_index_dir, monkeypatch):
    instruction = ("Read the passage below carefully and answer the question that follows with one word only, "
                   "giving no explanation at all.")
    rows = [{"question": f"{instruction} {q['question']}", "answer": q["answer"]} for q in QUIZ]
    at = upload(page(contam_index_dir, monkeypatch), "templated.jsonl", rows)
    at.button(key="contam_run").click().run()
    no_trouble(at)
    report = json.loads((contam_index_dir / "reports" / url(at, "report")).read_text())
    assert report["benchmarks"][0]["templated"] == len(rows)
    assert dataframe(at, "mean coverage").iloc[0]["templated"] == len(rows)
    shown = widget(at.selectbox, "Item").value
    item = next(i for i in report["items"] if f"{i['benchmark']}:{i['index']}" == shown)
    assert item["template_spans"]
    body = next(h.value for h in at.html if "<pre" in h.value)
    assert item_html(item["text"], item["spans"], item["longest_span"], 100_000, item["template_spans"]) in body
    assert '<span class="template">' in body
    assert any("grey: template text" in c.value and "(not counted)" in c.value for c in at.caption)
    at.toggle(key="contam_count_templates").set_value(True)
    at.button(key="contam_run").click().run()
    no_trouble(at)
    counted = json.loads((contam_index_dir / "reports" / url(at, "report")).read_text())
    assert counted["params"]["count_templates"] is True
    assert any("(counted, as asked)" in c.value for c in at.caption)


def test_a_report_kept_before_match_modes_and_templates_still_opens(contam_index_dir, monkeypatch):
    with open_index(contam_index_dir) as index:
        report = check_contamination(index, [open_benchmark("humaneval")], ContaminationParams()).as_dict()
        report["mode"] = "exact"
        report["params"] = {k: v for k, v in report["params"].items() if k not in ("match", "count_templates")}
        report["params"]["normalize"] = False
        for b in report["benchmarks"]:
            b.pop("templated", None)
        for i in report["items"]:
            i.pop("matched_by", None)
            i.pop("template_spans", None)
        name = keep_report(index, report).name
    at = page(contam_index_dir, monkeypatch, report=name, item="humaneval:0")
    no_trouble(at)
    assert "matched_by" not in dataframe(at, "longest_match").columns
    assert "Matched by" not in [m.label for m in at.metric]
    assert dataframe(at, "mean coverage").iloc[0]["templated"] == 0


def test_open_benchmark_names_the_file_as_shown_everywhere(contam_index_dir, tmp_path):
    """`shown_as`: problems, errors (an OS or Arrow message quoting the path included) and the report's summary name
    the file so, never by the path it was read from."""
    from inspector import BenchmarkError

    path = tmp_path / "saved-under-a-temporary-name.jsonl"
    path.write_text(json.dumps(QUIZ[0]) + "\n{broken\n" + json.dumps(QUIZ[1]) + "\n")
    bench = open_benchmark(f"quiz={path}", shown_as="quiz.jsonl")
    assert [str(p) for p in bench.records() if not hasattr(p, "text")] == [
        "quiz.jsonl:2: not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"]
    with open_index(contam_index_dir) as index:
        summary = check_contamination(index, [bench]).benchmarks[0]
        too_long = check_contamination(index, [bench], ContaminationParams(max_item_tokens=3)).benchmarks[0]
    assert summary.file == "quiz.jsonl" and summary.problems[0].startswith("quiz.jsonl:2: ")
    assert too_long.problems[0].startswith("quiz.jsonl:1: item has ")  # an item over the bound is named so too
    path.unlink()  # gone before it is read: the OS's message quotes the path, which is replaced
    with pytest.raises(BenchmarkError) as caught:
        list(bench.records())
    assert str(caught.value) == "quiz.jsonl: cannot read it ([Errno 2] No such file or directory: 'quiz.jsonl')"
