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
    InspectorError,
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

from .corpora import WORDS, annotation_corpus, write_parquet
from .pages import dataframe, label_keys, no_trouble, open_page, press_label


def page(index_dir, monkeypatch, file: str, **params) -> AppTest:
    return open_page(index_dir, monkeypatch, file, **params)


def progress_bar(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def param(at: AppTest, name: str):
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


SAMPLE_ARGS = {"score": "quality", "bins": "3", "binning": "quantile", "per_bin": "2", "seed": "11",
               "where": "source = web", "query": ""}


@pytest.mark.smoke
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

    assert not [n for n in at.number_input if n.key.startswith("task_scale")]  # keep / drop: no scale, no bounds
    at.radio(key="task_scheme").set_value("ordinal").run()
    at.text_input(key="task_name").input("spot-check")
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
        assert not reveal(at).value and not [t.value for t in at.text if "quality" in t.value]  # hidden by default
        press_label(at, key)
        no_trouble(at)
        assert any("Saved" in t.value for t in at.toast)
    assert progress_bar(at).startswith(f"{total} of {total} labelled")
    assert any("are done" in s.value for s in at.success)


def reveal(at: AppTest):
    """The one toggle that reveals what a blind task hides, for the item shown."""
    (toggle,) = [t for t in at.toggle if t.key.startswith("annotate_reveal_")]
    return toggle


@pytest.mark.smoke
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
    reveal(at).set_value(True).run()
    with open_index(annotation_index_dir) as index:
        score = next(i.score for i in resolve(index, task.name) if i.doc == 7)
    assert any(f"quality: {score}" in t.value for t in at.text)


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
    ("agreement", {"task": "keepers", "positive_from": "1"}, "positive_from is for an ordinal scale: task 'keepers'"),
    ("agreement", {"task": "keepers", "annotator": "two words"}, "annotator name 'two words'"),
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


@pytest.fixture(scope="module")
def judged_task(annotation_index_dir):
    """A second-pass task: two annotators disagree on two items, a judge adjudicated one of them."""
    from inspector import add_label

    docs = [1, 2, 3]
    with open_index(annotation_index_dir) as index:
        create_task(index, "judged", docs, second_pass=True)
        for doc, va, vb in zip(docs, ["keep", "keep", "drop"], ["keep", "drop", "keep"]):
            add_label(index, "judged", doc, "ann", va)
            add_label(index, "judged", doc, "bea", vb)
        add_label(index, "judged", 2, "judge", "drop", round=2)
    return docs


def test_disagreement_links_keep_the_leads_name_and_adjudicated_shows_no_none(annotation_index_dir, monkeypatch,
                                                                              judged_task):
    """A link opened in a new tab has no session: the lead's name travels in the link, and the Annotate page it
    opens (run afresh with the link's parameters) labels under it."""
    from urllib.parse import parse_qsl

    at = page(annotation_index_dir, monkeypatch, "agreement", task="judged", annotator="lead")
    no_trouble(at)
    with open_index(annotation_index_dir) as index:
        stats = label_stats(index, "judged")
    shown = dataframe(at, "majority")
    assert list(shown["doc"]) == [d.doc for d in stats.disagreements] == [2, 3]
    assert list(shown["adjudicated"]) == ["drop", "not yet"]
    assert "None" not in shown.astype(str).to_string()
    table = next(d for d in at.dataframe if "majority" in d.value.columns)
    assert table.proto.HasField("placeholder") and table.proto.placeholder == ""  # no id or score: blank, not None
    links = [dict(parse_qsl(p.proto.query_string)) for p in at.get("page_link") if "doc=" in p.proto.query_string]
    assert links == [{"task": "judged", "doc": "2", "round": "2", "annotator": "lead"},
                     {"task": "judged", "doc": "3", "round": "2", "annotator": "lead"}]

    followed = page(annotation_index_dir, monkeypatch, "annotate", **links[1])
    no_trouble(followed)
    assert followed.text_input(key="annotator_name").value == "lead" and label_keys(followed)["doc"] == 3
    press_label(followed, "keep")
    no_trouble(followed)
    with open_index(annotation_index_dir) as index:
        assert [(c.annotator, c.doc, c.round, c.label) for c in current_labels(index, "judged")
                if c.annotator == "lead"] == [("lead", 3, 2, "keep")]

    # the name given on Annotate in this session goes into the Agreement URL, and so into its links
    at = page(annotation_index_dir, monkeypatch, "agreement", task="judged")
    at.session_state["annotator_seen"] = "lead"
    at.run()
    no_trouble(at)
    assert param(at, "annotator") == "lead"
    assert all("annotator=lead" in p.proto.query_string for p in at.get("page_link") if "doc=" in p.proto.query_string)


def test_the_lead_renames_a_mistyped_annotator_after_a_confirmation(annotation_index_dir, monkeypatch):
    """`daved` (a label key typed into the name box) merges into `dave`: refused until the lead chooses which of
    two labels of one item stays, then done, recorded and listed."""
    from inspector import add_label, renames

    with open_index(annotation_index_dir) as index:
        create_task(index, "typo", [4, 5, 6])
        add_label(index, "typo", 4, "dave", "keep")
        add_label(index, "typo", 4, "daved", "drop")
        add_label(index, "typo", 5, "daved", "keep")
        add_label(index, "typo", 5, "other", "drop")
        before = [(e.seq, e.annotator, e.doc, e.label) for e in current_labels(index, "typo", history=True)]
    at = page(annotation_index_dir, monkeypatch, "agreement", task="typo", annotator="lead")
    no_trouble(at)
    assert at.selectbox(key="rename_source").options == ["dave", "daved", "other"]
    assert at.text_input(key="rename_by").value == "lead"
    at.selectbox(key="rename_source").set_value("daved")
    at.text_input(key="rename_target").input("dave")
    at.button(key="FormSubmitter:rename_form-Review the rename").click().run()
    no_trouble(at)
    said = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "2 label event(s) of daved (2 current labels) move to dave, who has 1 label(s) already: a merge" in said
    assert "Both labelled 1 item(s) (1 differently): choose which label stays" in said
    assert at.button(key="rename_confirm").disabled
    with open_index(annotation_index_dir) as index:
        assert [(e.seq, e.annotator, e.doc, e.label) for e in current_labels(index, "typo", history=True)] == before

    at.radio(key="rename_keep").set_value("newest")
    at.button(key="FormSubmitter:rename_form-Review the rename").click().run()
    assert "the newest label stays" in " ".join(w.value for w in at.warning)
    at.button(key="rename_confirm").click().run()
    no_trouble(at)
    assert any("Merged daved into dave: 2 label event(s) moved" in s.value.replace("\\", "") for s in at.success)
    with open_index(annotation_index_dir) as index:
        after = [(e.seq, e.annotator, e.doc, e.label) for e in current_labels(index, "typo", history=True)]
        (done,) = renames(index, "typo")
    assert after == [(seq, "dave" if who == "daved" else who, doc, label) for seq, who, doc, label in before]
    assert (done.source, done.target, done.by, done.events, done.conflicts, done.keep) == (
        "daved", "dave", "lead", 2, 1, "newest")
    log = dataframe(at, "labels moved")
    assert log.to_dict("records") == [{"when": done.at[:19].replace("T", " "), "by": "lead", "from": "daved",
                                       "to": "dave", "labels moved": 2, "merge": True, "both labelled": 1,
                                       "kept": "newest"}]
    assert at.selectbox(key="rename_source").options == ["dave", "other"]
    assert [m.value for m in at.metric if m.label == "Annotators"] == ["2"]


def corpus_rows(index_dir) -> dict[int, dict]:
    """doc -> its Parquet row (id, source, quality), read from the corpus file itself, not from the index."""
    table = pq.read_table(Path(index_dir).parent / "corpus" / "part-0.parquet")
    return dict(enumerate(table.to_pylist()))


def visible(at: AppTest) -> str:
    """Every piece of text the page shows."""
    shown = [*at.text, *at.markdown, *at.caption, *at.info, *at.html, *at.get("json")]
    return "\n".join(str(getattr(e, "value", "")) + str(getattr(e, "proto", "")) for e in shown)


@pytest.fixture(scope="module")
def blind_task(annotation_index_dir):
    """A task that hides its score (the default) and the `source` column."""
    docs = [11, 12, 13]
    rows = corpus_rows(annotation_index_dir)
    with open_index(annotation_index_dir) as index:
        task = create_task(index, "blind", docs, [rows[d]["quality"] for d in docs], score_name="quality",
                           hidden_columns=["source"])
    return task, docs


def test_a_blind_task_hides_score_source_and_id_on_annotate_and_document_and_reveals_one_item_only(
        annotation_index_dir, monkeypatch, blind_task):
    task, docs = blind_task
    rows = corpus_rows(annotation_index_dir)
    assert task.hide_score and task.hidden == ("source", "quality") and task.blind

    def secrets_shown(at: AppTest, doc: int) -> list[str]:
        row = rows[doc]
        return [s for s in (row["id"], str(row["quality"]), row["source"], "part-0.parquet") if s in visible(at)]

    at = page(annotation_index_dir, monkeypatch, "annotate", task="blind", annotator="fay")
    no_trouble(at)
    assert label_keys(at)["doc"] == docs[0] and secrets_shown(at, docs[0]) == []
    reveal(at).set_value(True).run()  # this item only
    assert secrets_shown(at, docs[0]) == [rows[docs[0]]["id"], str(rows[docs[0]]["quality"]), rows[docs[0]]["source"],
                                          "part-0.parquet"]
    press_label(at, "keep")
    no_trouble(at)
    assert label_keys(at)["doc"] == docs[1]
    assert not reveal(at).value and secrets_shown(at, docs[1]) == []  # hidden again on the next item

    # the Document page, opened from here, hides them too; opened without the task it shows them
    (link,) = [p.proto for p in at.get("page_link") if "task=blind" in p.proto.query_string]
    assert link.query_string == f"doc={docs[1]}&task=blind"
    opened = page(annotation_index_dir, monkeypatch, "document", doc=str(docs[1]), task="blind")
    no_trouble(opened)
    assert secrets_shown(opened, docs[1]) == []
    assert json.loads(opened.get("json")[0].proto.body) == {}  # the corpus has id, text, source, quality: none shown
    plain = page(annotation_index_dir, monkeypatch, "document", doc=str(docs[1]))
    assert secrets_shown(plain, docs[1]) == [rows[docs[1]]["id"], str(rows[docs[1]]["quality"]),
                                             rows[docs[1]]["source"], "part-0.parquet"]


def test_a_task_that_shows_the_score_shows_it_with_the_id(annotation_index_dir, monkeypatch):
    rows = corpus_rows(annotation_index_dir)
    with open_index(annotation_index_dir) as index:
        create_task(index, "open", [14], [rows[14]["quality"]], score_name="quality", hide_score=False)
    at = page(annotation_index_dir, monkeypatch, "annotate", task="open", annotator="gil")
    no_trouble(at)
    assert not [t for t in at.toggle if t.key.startswith("annotate_reveal_")]
    assert any(f"id {rows[14]['id']}" in t.value and f"quality: {rows[14]['quality']}" in t.value for t in at.text)


def test_tasks_made_before_the_hidden_settings_open_with_the_score_hidden_and_keep_their_labels(tmp_path):
    """A labels file from before `hide_score` and `hidden_columns` (its tasks table without them) opens, its tasks
    hide the score as that version did by default, their labels are all there, and new tasks are made beside them."""
    import duckdb

    from inspector import add_label, close_store, labels_path

    build_index([annotation_corpus(tmp_path)], tmp_path / "idx", signals=False)
    with open_index(tmp_path / "idx") as index:
        create_task(index, "old", [1, 2], [0.2, 0.8], score_name="quality")
        add_label(index, "old", 1, "hal", "keep")
        add_label(index, "old", 2, "hal", "drop", note="spam")
        close_store(index)
    with duckdb.connect(str(labels_path(tmp_path / "idx"))) as con:  # the file as the older version left it
        con.execute("ALTER TABLE tasks DROP COLUMN hide_score")
        con.execute("ALTER TABLE tasks DROP COLUMN hidden_columns")
        assert len(con.execute("DESCRIBE tasks").fetchall()) == 9
    with open_index(tmp_path / "idx") as index:
        (old,) = tasks(index)
        assert old.hide_score and old.hidden_columns == () and old.hidden == ("quality",)
        assert [(e.doc, e.label, e.note) for e in current_labels(index, "old")] == [(1, "keep", None),
                                                                                     (2, "drop", "spam")]
        new = create_task(index, "new", [3], hide_score=False, hidden_columns=["source"])
        assert (new.hide_score, new.hidden_columns) == (False, ("source",))
        with pytest.raises(InspectorError, match="cannot hide column 'nope'"):
            create_task(index, "bad", [4], hidden_columns=["nope"])
        close_store(index)


def test_the_cli_makes_a_task_that_shows_the_score_or_hides_columns(annotation_index_dir):
    from click.testing import CliRunner

    from inspector.cli import main

    result = CliRunner().invoke(main, ["task", "create", str(annotation_index_dir), "--name", "cli-hidden",
                                       "--docs", "15,16", "--scores", "0.1,0.2", "--score-name", "quality",
                                       "--hide-column", "source"])
    assert result.exit_code == 0, result.output
    assert "hidden from annotators: source, quality" in result.output
    result = CliRunner().invoke(main, ["task", "create", str(annotation_index_dir), "--name", "cli-shown",
                                       "--docs", "17", "--show-score"])
    assert result.exit_code == 0 and "hidden" not in result.output
    with open_index(annotation_index_dir) as index:
        made = {t.name: t for t in tasks(index)}
    assert made["cli-hidden"].hidden == ("source", "quality") and not made["cli-shown"].hide_score
    bad = CliRunner().invoke(main, ["task", "create", str(annotation_index_dir), "--name", "cli-bad", "--docs", "18",
                                    "--hide-column", "nope"])
    assert bad.exit_code == 2 and "cannot hide column 'nope'" in bad.output
