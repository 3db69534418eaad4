"""Agreement: how far a task's annotators agree, and how the quality score agrees with them.

Pick a task (?task=NAME): Cohen's κ (two annotators) and Krippendorff's α (any number), the labels per annotator,
the items they disagree on (each opening the Annotate page on it, to adjudicate), the share labelled positive per
score bin, ROC-AUC and the best threshold; the labels download as CSV, Parquet or JSON Lines.
"""
import io
import json

import pandas as pd
import streamlit as st

from inspector import InspectorError, InvalidQuery, get_task, label_stats, label_table, tasks, url_int, url_text
from pages._shared import PAGES, current_index, md, show_error, stop_without_tasks

MAX_DISAGREEMENTS = 200  # listed with a link each (the export has them all)
MAX_TASK_CHOICES = 1000

index = current_index()
st.title("Agreement")
params = st.query_params
names = [t.name for t in tasks(index)]
try:
    url_task = url_text(params.get("task"), "task", 64)
    if url_task and url_task not in names:
        raise InvalidQuery(f"there is no task {url_task!r} at this index; create one on the Sample page")
    bins = url_int(params.get("bins"), "bins (score bins)", 1, 20, default=5)
    task = get_task(index, url_task) if url_task else None
    positive_from = None
    if task is not None and task.scheme.ordinal and params.get("positive_from"):
        lo, hi = task.scheme.values[0], task.scheme.values[-1]
        positive_from = url_int(params.get("positive_from"), "positive_from", lo, hi)
except InspectorError as exc:
    show_error(exc)
    st.stop()

stop_without_tasks(names)
choices = names[-MAX_TASK_CHOICES:]
if url_task and url_task not in choices:
    choices.insert(0, url_task)
chosen = st.selectbox("Task", choices, index=choices.index(url_task) if url_task else None,
                      placeholder="choose a task", key=f"agreement_task_{url_task}")
if chosen != (url_task or None):
    st.query_params.from_dict({k: v for k, v in params.items() if k == "index"} | {"task": chosen})
    st.rerun()
if task is None:
    st.info("Choose a task.")
    st.stop()

try:
    result = label_stats(index, task, positive_from=positive_from, bins=bins)
    table = label_table(index, task)
except InspectorError as exc:
    show_error(exc)
    st.stop()

st.caption(md(f"{task.items:,} items · labels {task.scheme.spec} · created {task.created}"
              + (f" · score: {task.score_name}" if task.score_name else "")))
if result.identity.get("changed") or result.identity.get("vanished"):
    st.warning(f"{result.identity['changed'] + result.identity['vanished']:,} item(s) changed or vanished after a "
               "rebuild of the index: they are not offered for labelling.")
multi = sum(1 for n in table.column("labels").to_pylist() if n >= 2)
c = st.columns(5)
c[0].metric("Cohen's κ", "–" if result.kappa is None else f"{result.kappa:.3f}",
            help=f"two annotators only; over the {result.kappa_items:,} items both labelled"
                 + (f"; {result.kappa_weights} weights" if result.kappa_weights else ""))
c[1].metric("Krippendorff's α", "–" if result.alpha is None else f"{result.alpha:.3f}",
            help=f"{result.alpha_level}, over every annotator")
c[2].metric("Items with ≥ 2 labels", f"{multi:,}")
c[3].metric("Annotators", f"{len(result.annotators):,}")
c[4].metric("Disagreements", f"{len(result.disagreements):,}")
if not result.annotators:
    st.info("No labels yet.")
    st.page_link(PAGES["annotate"], label="Annotate", icon=":material/edit_note:", query_params={"task": task.name})
    st.stop()

# -- labels per annotator --------------------------------------------------------------------------------------------
st.subheader("Labels per annotator")
distribution = pd.DataFrame([{"annotator": a, **counts} for a, counts in result.distributions.items()])
left, right = st.columns(2)
left.dataframe(distribution, hide_index=True, key="agreement_distributions")
right.bar_chart(distribution.melt("annotator", var_name="label", value_name="items"), x="annotator", y="items",
                color="label", stack=False)
st.caption(md("Majority per item: " + ", ".join(f"{k} {v:,}" for k, v in result.majorities.items())))

# -- disagreements ---------------------------------------------------------------------------------------------------
st.subheader("Disagreements")
if result.disagreements:
    st.dataframe(pd.DataFrame([{"item": d.position + 1, "doc": d.doc, "status": d.status, "id": d.id,
                                "score": d.score, "majority": d.majority or "tie", "adjudicated": d.adjudicated,
                                **{f"label:{a}": v for a, v in d.labels.items()}}
                               for d in result.disagreements[:MAX_DISAGREEMENTS]]),
                 hide_index=True, key="agreement_disagreements")
    annotator = st.session_state.get("annotator_seen")  # the name given on the Annotate page in this session
    st.caption("Open an item to look again (a second label replaces yours; with a second pass, adjudicate there).")
    for d in result.disagreements[:MAX_DISAGREEMENTS]:
        said = ", ".join(f"{a}: {v}" for a, v in d.labels.items())
        if d.doc is None:
            st.text(f"item {d.position + 1} ({d.status}) · {said}")
            continue
        query = ({"task": task.name, "doc": str(d.doc)} | ({"round": "2"} if task.second_pass else {})
                 | ({"annotator": annotator} if annotator else {}))
        st.page_link(PAGES["annotate"], label=md(f"doc {d.doc} · {said}"), query_params=query)
    if len(result.disagreements) > MAX_DISAGREEMENTS:
        st.caption(f"The first {MAX_DISAGREEMENTS:,} of {len(result.disagreements):,}; the export has them all.")
else:
    st.caption("The annotators agree on every item they both labelled.")

# -- the score against the labels ------------------------------------------------------------------------------------
st.subheader("The score against the labels")
score = result.score
if score is None:
    st.caption("This task's items have no score.")
else:
    c = st.columns(3)
    c[0].metric("ROC-AUC", "–" if score.roc_auc is None else f"{score.roc_auc:.3f}",
                help=md(f"the score against the majority label ({score.positive} positive), over {score.items:,} "
                        "items; – unless both classes occur"))
    c[1].metric("Best threshold", "–" if score.best_threshold is None else f"{score.best_threshold:.4g}",
                help=md(f"score >= t agrees with the most majority labels ({score.positive})"))
    c[2].metric("Its accuracy", "–" if score.best_accuracy is None else f"{score.best_accuracy:.1%}")
    if task.scheme.ordinal:
        st.caption(md(f"Positive: {score.positive}; change it with ?positive_from=N."))
    rates = pd.DataFrame([{"score bin": f"{b.lo:.4g}–{b.hi:.4g}", "rate": b.rate, "items": b.items,
                           "positive": b.positive} for b in score.bins])
    st.caption(md(f"Share labelled {score.positive} per score bin (quantiles of the task's scores)"))
    st.bar_chart(rates, x="score bin", y="rate", x_label="score bin", y_label=f"share {score.positive}", sort=False)
    st.dataframe(rates, hide_index=True, key="agreement_score_bins")

# -- export ----------------------------------------------------------------------------------------------------------


def as_csv() -> bytes:
    import pyarrow.csv as pcsv

    out = io.BytesIO()
    pcsv.write_csv(label_table(index, task), out)
    return out.getvalue()


def as_parquet() -> bytes:
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(label_table(index, task), out)
    return out.getvalue()


def as_jsonl() -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in label_table(index, task).to_pylist())


st.subheader("Export")
d = st.columns(3)
d[0].download_button("Labels (CSV)", as_csv, f"{task.name}-labels.csv", "text/csv", key="agreement_csv")
d[1].download_button("Labels (Parquet)", as_parquet, f"{task.name}-labels.parquet", "application/octet-stream",
                     key="agreement_parquet")
d[2].download_button("Labels (JSON Lines)", as_jsonl, f"{task.name}-labels.jsonl", "application/jsonl",
                     key="agreement_jsonl")
