"""The Sample, Annotate and Agreement pages through Streamlit's AppTest, on a small seeded corpus with a numeric
`quality` score: what each page shows is checked against `sample`, `progress` and `label_stats` on the same index,
and the labels are given by clicking the page's buttons."""
from __future__ import annotations

import html
import io
import json
import random
import re
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from inspector import (
    build_index,
    create_task,
    current_labels,
    label_stats,
    label_table,
    open_index,
    progress,
    resolve,
    sample,
    tasks,
)

from .conftest import write_parquet
from .pages import dataframe, label_keys, no_trouble, open_page, press_label

HOSTILE = "<script>alert(1)</script> and <b>bold</b> and [a link](javascript:alert(2)) must show as text."
WORDS = ["river", "stone", "cloud", "paper", "window", "garden", "lamp", "music", "silver", "table", "orange"]


def annotation_corpus(folder: Path) -> Path:
    """40 seeded documents with a `quality` score and a `source`; doc 7 is markup."""
    rng = random.Random(5)
    rows = [{"id": f"a-{i:02d}", "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 40))),
             "source": rng.choice(["web", "books"]), "quality": round(rng.random(), 3)} for i in range(40)]
    rows[7]["text"] = HOSTILE
    write_parquet(folder / "corpus" / "part-0.parquet", rows)
    return folder / "corpus"


@pytest.fixture(scope="module")
def annotation_index_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("annotation")
    build_index([annotation_corpus(folder)], folder / "idx", signals=False)
    return folder / "idx"


def page(index_dir, monkeypatch, file: str, **params) -> AppTest:
    return open_page(index_dir, monkeypatch, file, **params)


def progress_bar(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def param(at: AppTest, name: str):
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


SAMPLE_ARGS = {"score": "quality", "bins": "3", "binning": "quantile", "per_bin": "2", "seed": "11",
               "where": "source = web", "query": ""}


def test_sample_page_shows_the_api_bins_and_creates_a_task(annotation_index_dir, monkeypatch):
    at = page(annotation_index_dir, monkeypatch, "sample", **SAMPLE_ARGS)
    no_trouble(at)
    with open_index(annotation_index_dir) as index:
        expected = sample(index, "quality", bins=3, binning="quantile", per_bin=2, seed=11, where="source = web")
    shown = dataframe(at, "population")
    assert shown.to_dict("records") == [{"bin": b.bin, "low": b.low, "high": b.high, "population": b.population,
                                         "sampled": b.sampled, "excluded": b.excluded} for b in expected.bins]
    documents = dataframe(at, "source")
    assert list(documents["doc"]) == [d.doc for d in expected.documents]
    assert list(documents["open"]) == [f"document?doc={d.doc}" for d in expected.documents]
    assert set(documents["source"]) == {"web"}
    # the form shows the URL's settings
    assert at.number_input(key="sample_per_bin").value == 2 and at.radio(key="sample_binning").value == "quantile"

    at.text_input(key="task_name").input("spot-check")
    at.radio(key="task_scheme").set_value("ordinal")
    at.number_input(key="task_scale_low").set_value(1)
    at.number_input(key="task_scale_high").set_value(4)
    at.text_area(key="task_guideline").input("4: keep it. <script>alert(1)</script>")
    at.checkbox(key="task_second_pass").check()
    at.button(key="FormSubmitter:task_form-Create the task").click().run()
    no_trouble(at)
    assert any("spot\\-check created" in s.value for s in at.success)
    with open_index(annotation_index_dir) as index:
        made = {t.name: t for t in tasks(index)}["spot-check"]
        assert [i.doc for i in resolve(index, made)] == [d.doc for d in expected.documents]
    assert made.scheme.spec == "ordinal:1-4" and made.second_pass and made.score_name == "quality"
    assert made.guideline == "4: keep it. <script>alert(1)</script>"
    assert {k: made.sample[k] for k in ("score", "bins", "binning", "per_bin", "seed", "where")} == {
        "score": "quality", "bins": 3, "binning": "quantile", "per_bin": 2, "seed": 11, "where": "source = web"}

    # an ordinal task is labelled with its digits
    labelling = page(annotation_index_dir, monkeypatch, "annotate", task="spot-check", annotator="dana")
    no_trouble(labelling)
    assert [(a["name"], a["key"]) for a in label_keys(labelling)["actions"]] == [
        ("1", "1"), ("2", "2"), ("3", "3"), ("4", "4"), ("skip", "s")]
    press_label(labelling, "3")
    no_trouble(labelling)
    with open_index(annotation_index_dir) as index:
        assert [(lab.doc, lab.value) for lab in current_labels(index, "spot-check")] == [(expected.documents[0].doc, 3)]

    # the same name again: one error box, nothing created
    at.button(key="FormSubmitter:task_form-Create the task").click().run()
    assert len(at.error) == 1 and "exists" in at.error[0].value


@pytest.fixture(scope="module")
def keep_task(annotation_index_dir):
    """A keep/drop task over a sample that holds the markup document (doc 7)."""
    with open_index(annotation_index_dir) as index:
        drawn = sample(index, "quality", bins=2, per_bin=2, seed=3)
        docs = [d.doc for d in drawn.documents if d.doc != 7][:3] + [7]
        scores = [index.catalog.cursor().execute("SELECT quality FROM documents WHERE doc = ?", [d]).fetchone()[0]
                  for d in docs]
        task = create_task(index, "keepers", docs, scores, guideline="Keep prose. <b>not bold</b>",
                           score_name="quality")
    return task, docs


def label_all(index_dir, monkeypatch, task: str, annotator: str, keys: list[str]) -> None:
    """Label the items in order by clicking, checking the progress bar advance; resumes after the first label."""
    at = page(index_dir, monkeypatch, "annotate", task=task, annotator=annotator)
    no_trouble(at)
    with open_index(index_dir) as index:
        total = progress(index, task, annotator).items
    for n, key in enumerate(keys):
        if n == 1:  # a fresh session resumes where the annotator left off
            at = page(index_dir, monkeypatch, "annotate", task=task, annotator=annotator)
            no_trouble(at)
        assert progress_bar(at).startswith(f"{n} of {total} labelled")
        assert not at.toggle(key="annotate_show_score").value  # the score is hidden by default
        press_label(at, key)
        no_trouble(at)
        assert any("Saved" in t.value for t in at.toast)
    assert progress_bar(at).startswith(f"{total} of {total} labelled")
    assert any("are done" in s.value for s in at.success)


def test_two_annotators_label_every_item_then_the_agreement_shows_kappa(annotation_index_dir, monkeypatch, keep_task,
                                                                      downloads):
    task, docs = keep_task
    label_all(annotation_index_dir, monkeypatch, task.name, "alice",
              ["keep", "keep", "drop", "keep"])
    label_all(annotation_index_dir, monkeypatch, task.name, "bob",
              ["keep", "drop", "drop", "keep"])
    with open_index(annotation_index_dir) as index:
        labels = {(lab.annotator, lab.doc): lab.label for lab in current_labels(index, task.name)}
        assert labels == {("alice", docs[0]): "keep", ("alice", docs[1]): "keep", ("alice", docs[2]): "drop",
                          ("alice", docs[3]): "keep", ("bob", docs[0]): "keep", ("bob", docs[1]): "drop",
                          ("bob", docs[2]): "drop", ("bob", docs[3]): "keep"}
        stats = label_stats(index, task.name)
        table = label_table(index, task.name)

    at = page(annotation_index_dir, monkeypatch, "agreement", task=task.name)
    no_trouble(at)
    metrics = {m.label: m.value for m in at.metric}
    assert stats.kappa is not None and metrics["Cohen's κ"] == f"{stats.kappa:.3f}"
    assert metrics["Krippendorff's α"] == f"{stats.alpha:.3f}" and metrics["Items with ≥ 2 labels"] == "4"
    assert metrics["ROC-AUC"] == ("–" if stats.score.roc_auc is None else f"{stats.score.roc_auc:.3f}")
    assert dataframe(at, "annotator").to_dict("records") == [
        {"annotator": "alice", "drop": 1, "keep": 3}, {"annotator": "bob", "drop": 2, "keep": 2}]
    assert list(dataframe(at, "majority")["doc"]) == [docs[1]]  # the one disagreement, linked for adjudication
    links = [p.proto for p in at.get("page_link") if "doc=" in p.proto.query_string]
    assert [link.query_string for link in links] == [f"task=keepers&doc={docs[1]}"]
    assert [b.label for b in at.get("download_button")] == ["Labels (CSV)", "Labels (Parquet)", "Labels (JSON Lines)"]
    # the export: what each button sends holds every label
    csv = pcsv.read_csv(io.BytesIO(downloads["keepers-labels.csv"]()))
    assert csv.column("label:alice").to_pylist() == table.column("label:alice").to_pylist()
    assert csv.column("label:bob").to_pylist() == ["keep", "drop", "drop", "keep"]
    assert pq.read_table(io.BytesIO(downloads["keepers-labels.parquet"]())).equals(table)
    rows = [json.loads(line) for line in downloads["keepers-labels.jsonl"]().splitlines()]
    assert rows == table.to_pylist()

    # the adjudication link opens that item, with this annotator's label shown
    at = page(annotation_index_dir, monkeypatch, "annotate", task=task.name, doc=str(docs[1]), annotator="bob")
    no_trouble(at)
    assert any("You labelled this item drop" in i.value for i in at.info)
    assert progress_bar(at).startswith("4 of 4 labelled")


@pytest.fixture
def downloads(monkeypatch):
    """file name -> the data callable of each deferred download button rendered (run as the browser's click
    would run it)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    seen = {}
    add = MediaFileManager.add_deferred

    def recording(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        seen[file_name] = data_callable
        return add(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", recording)
    return seen


def test_documents_and_guideline_show_as_text(annotation_index_dir, monkeypatch, keep_task):
    task, _ = keep_task
    at = page(annotation_index_dir, monkeypatch, "annotate", task=task.name, annotator="carol", doc="7")
    no_trouble(at)
    text = next(h.value for h in at.html if "annotate-text" in h.value)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text
    guideline = next(m.value for m in at.markdown if "Keep prose" in m.value)
    assert "\\<b\\>" in guideline  # escaped Markdown: shown as the characters typed
    assert [(a["name"], a["key"]) for a in label_keys(at)["actions"]] == [("drop", "d"), ("keep", "k"), ("skip", "s")]
    assert label_keys(at)["doc"] == 7
    at.toggle(key="annotate_show_score").set_value(True).run()
    with open_index(annotation_index_dir) as index:
        score = next(i.score for i in resolve(index, task.name) if i.doc == 7)
    assert any(t.value == f"quality: {score}" for t in at.text)


@pytest.mark.parametrize("file, params, message", [
    ("annotate", {"task": "nope"}, "there is no task 'nope'"),
    ("annotate", {"task": "keepers", "annotator": "x" * 65}, "annotator has 65 characters; the limit is 64"),
    ("annotate", {"task": "keepers", "annotator": "two words"}, "annotator name 'two words'"),
    ("annotate", {"task": "keepers", "annotator": "alice", "doc": "abc"}, "doc must be a whole number"),
    ("annotate", {"task": "keepers", "annotator": "alice", "doc": "0"}, "document 0 is not an item of task keepers"),
    ("annotate", {"task": "keepers", "round": "2"}, "task 'keepers' has no second pass"),
    ("sample", {"bins": "0"}, "bins must be from 1 to 100, not 0"),
    ("sample", {"bins": "many"}, "bins must be a whole number from 1 to 100, not 'many'"),
    ("sample", {"score": "text"}, "score 'text' is not a numeric column"),
    ("sample", {"binning": "log"}, "binning must be one of width, quantile, not 'log'"),
    ("sample", {"per_bin": "100000"}, "per_bin (documents per bin) must be from 1 to 1,000"),
    ("sample", {"where": "nonsense"}, ""),
    ("agreement", {"task": "nope"}, "there is no task 'nope'"),
    ("sample", {"exclude_task": "nope"}, "exclude_task: no task 'nope'"),
])
def test_bad_url_values_are_one_error_box(annotation_index_dir, monkeypatch, keep_task, file, params, message):
    at = page(annotation_index_dir, monkeypatch, file, **params)
    assert not at.exception, at.exception
    assert len(at.error) == 1, [e.value for e in at.error]
    assert message in at.error[0].value.replace("\\", "")


def test_a_press_is_saved_once_and_only_on_the_document_it_was_pressed_on(annotation_index_dir, monkeypatch,
                                                                          keep_task):
    """The server side of the label keys (the browser side: tests/test_annotation_browser.py): a press said twice
    is saved once; a press that arrives once the page shows another document is answered as not saved."""
    task, _ = keep_task
    at = page(annotation_index_dir, monkeypatch, "annotate", task=task.name, annotator="erin")
    view = label_keys(at)
    keep = {"seq": view["next"], "session": view["session"], "task": task.name, "annotator": "erin", "round": 1,
            "doc": view["doc"], "action": "label", "value": 1, "key": "k"}
    at.session_state["label_keys"] = {"press": {**keep, "session": "before-a-reconnect"}}  # not this session's
    at.run()
    assert label_keys(at)["acked"] == 0 and label_keys(at)["doc"] == view["doc"]
    for _ in range(2):  # the same press twice
        at.session_state["label_keys"] = {"press": keep}
        at.run()
        no_trouble(at)
    late = {**keep, "seq": keep["seq"] + 1, "value": 0}  # pressed on the first document, arrived on the second
    at.session_state["label_keys"] = {"press": late}
    at.run()
    no_trouble(at)
    after = label_keys(at)
    assert after["doc"] != view["doc"] and after["acked"] == late["seq"]
    refusal = (f"not saved: the page had moved on from the document it was pressed on (doc {view['doc']}) when it "
               "arrived")
    assert after["outcomes"][-2:] == [[keep["seq"], True, f"saved keep for doc {view['doc']}"],
                                      [late["seq"], False, refusal]]
    with open_index(annotation_index_dir) as index:
        given = [(e.doc, e.label) for e in current_labels(index, task.name, history=True) if e.annotator == "erin"]
    assert given == [(view["doc"], "keep")]


def test_the_sample_page_leaves_out_what_a_task_has_labelled(annotation_index_dir, monkeypatch, keep_task):
    """?exclude_task=T: the documents labelled in T are not drawn again; the next ones come, the bins stay."""
    from inspector import add_label, labelled_docs

    task, docs = keep_task
    args = {"score": "quality", "bins": "2", "per_bin": "2", "seed": "3"}
    with open_index(annotation_index_dir) as index:
        add_label(index, task.name, docs[0], "zed", "keep")
        left_out = labelled_docs(index, task.name)
        expected = sample(index, "quality", bins=2, per_bin=2, seed=3, exclude_docs=left_out)
    assert docs[0] in left_out
    at = page(annotation_index_dir, monkeypatch, "sample", **args, exclude_task=task.name)
    no_trouble(at)
    assert list(dataframe(at, "source")["doc"]) == [d.doc for d in expected.documents]
    assert docs[0] not in list(dataframe(at, "source")["doc"])
    assert at.selectbox(key="sample_exclude").value == task.name


def test_a_long_document_pages_and_a_long_scale_labels_with_a_slider(tmp_path, monkeypatch):
    """A document longer than one window is read a window at a time (?at= follows), each window exactly the
    Parquet text's characters; a 0-20 scale (more labels than buttons) is labelled with its slider."""
    rng = random.Random(9)
    long_text = " ".join(rng.choice(WORDS) + str(i) for i in range(40_000))  # ~360,000 characters
    rows = [{"id": "long", "text": long_text, "quality": 0.5},
            *({"id": f"s{i}", "text": " ".join(rng.choice(WORDS) for _ in range(12)), "quality": i / 10}
              for i in range(5))]
    write_parquet(tmp_path / "corpus" / "part.parquet", rows)
    build_index([tmp_path / "corpus"], tmp_path / "idx", signals=False)
    with open_index(tmp_path / "idx") as index:
        create_task(index, "graded", [0, 1], [0.5, 0.0], scheme="ordinal:0-20")
        size = index.settings.document_window_chars
    assert len(long_text) > 3 * size

    at = page(tmp_path / "idx", monkeypatch, "annotate", task="graded", annotator="ann")
    no_trouble(at)

    def shown() -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", next(h.value for h in at.html if "annotate-text" in h.value)))

    assert shown() == long_text[:size]
    keys = {b.key for b in at.button}
    assert "label_save" in keys and [a["name"] for a in label_keys(at)["actions"]] == ["skip"]  # a slider
    at.button(key="annotate_next_piece").click().run()
    no_trouble(at)
    assert param(at, "at") == str(size) and shown() == long_text[size : 2 * size]
    at.button(key="annotate_previous_piece").click().run()
    assert param(at, "at") is None and shown() == long_text[:size]
    at.select_slider(key="annotate_value_0_1").set_value(17).run()
    at.button(key="label_save").click().run()
    no_trouble(at)
    with open_index(tmp_path / "idx") as index:
        assert [(lab.doc, lab.annotator, lab.label) for lab in current_labels(index, "graded")] == [(0, "ann", "17")]
    assert progress_bar(at).startswith("1 of 2 labelled")
