"""Agreement: how far a task's annotators agree, and how the quality score agrees with them.

Pick a task (?task=NAME): Cohen's κ (two annotators) and Krippendorff's α (any number), the labels per annotator,
the items they disagree on (each opening the Annotate page on it, to adjudicate, under the lead's name:
?annotator=NAME, else the name given on Annotate in this session), the share labelled positive per score bin,
ROC-AUC and the best threshold; the labels download as CSV, Parquet or JSON Lines. The lead renames or merges an
annotator's labels here (a mistyped name), after a confirmation; every rename is listed.
"""
import io
import json

import pandas as pd
import streamlit as st

from inspector import (
    InspectorError,
    InvalidQuery,
    bounded_text,
    check_annotator,
    current_labels,
    get_task,
    label_stats,
    label_table,
    plan_rename,
    rename_annotator,
    renames,
    tasks,
)
from pages._shared import PAGES, current_index, md, show_error, stop_on_error, stop_without_tasks
from pages._urls import url_int

MAX_DISAGREEMENTS = 200  # listed with a link each (the export has them all)
MAX_TASK_CHOICES = 1000
#: what a merge keeps where both annotators labelled an item ("": refuse, and say so)
KEEP_NAMES = {"": "ask me", "newest": "the newest label", "target": "the target's label"}

index = current_index()
st.title("Agreement")
params = st.query_params
names = [t.name for t in tasks(index)]
with stop_on_error():
    url_task = bounded_text(params.get("task"), "task", 64)
    if url_task and url_task not in names:
        raise InvalidQuery(f"there is no task {url_task!r} at this index; create one on the Sample page")
    bins = url_int(params.get("bins"), "bins (score bins)", 1, 20, default=5)
    task = get_task(index, url_task) if url_task else None
    # a whole number here; `label_stats` says when it is not on the task's scale (or the task has none)
    positive_from = url_int(params.get("positive_from"), "positive_from", -9999, 9999) if params.get(
        "positive_from") else None
    url_annotator = params.get("annotator")
    if url_annotator is not None:
        check_annotator(bounded_text(url_annotator, "annotator", 64))

# the lead's name, kept in this page's URL and in every link to Annotate (a link opened in a new tab has no session)
lead = url_annotator or st.session_state.get("annotator_seen") or ""
if lead and url_annotator is None:
    st.query_params["annotator"] = lead

stop_without_tasks(names)
choices = names[-MAX_TASK_CHOICES:]
if url_task and url_task not in choices:
    choices.insert(0, url_task)
chosen = st.selectbox("Task", choices, index=choices.index(url_task) if url_task else None,
                      placeholder="choose a task", key=f"agreement_task_{url_task}")
if chosen != (url_task or None):
    st.query_params.from_dict({k: v for k, v in params.items() if k in ("index", "annotator")} | {"task": chosen})
    st.rerun()
if task is None:
    st.info("Choose a task.")
    st.stop()

with stop_on_error():
    result = label_stats(index, task, positive_from=positive_from, bins=bins)
    table = label_table(index, task)

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


def annotate_link(label: str, **params: str) -> None:
    """A link to Annotate on this task, under the lead's name when there is one."""
    st.page_link(PAGES["annotate"], label=md(label), icon=":material/edit_note:",
                 query_params={"task": task.name, **params} | ({"annotator": lead} if lead else {}))


def annotators_section() -> None:
    """The lead's tool for a mistyped name: rename (or merge) an annotator's labels, after a confirmation; and the
    renames done so far."""
    st.subheader("Rename or merge an annotator")
    done = st.session_state.pop("agreement_renamed", None)  # the confirmation of the last rename, across the rerun
    if done:
        st.success(md(done))
    log = renames(index, task)
    if log:
        st.dataframe(pd.DataFrame([{"when": r.at[:19].replace("T", " "), "by": r.by, "from": r.source,
                                    "to": r.target, "labels moved": r.events, "merge": r.merge,
                                    "both labelled": r.conflicts, "kept": r.keep or "—"} for r in log]),
                     hide_index=True, key="agreement_renames")
    annotators = sorted({e.annotator for e in current_labels(index, task, history=True)})
    if not annotators:
        st.caption("No labels to rename yet.")
        return
    st.session_state.setdefault("rename_by", lead)
    with st.form("rename_form"):
        c = st.columns(3)
        source = c[0].selectbox("Move the labels of", annotators, key="rename_source")
        target = c[1].text_input("To the name", key="rename_target", max_chars=64,
                                 help="A name with labels already merges the two")
        by = c[2].text_input("Your name (recorded)", key="rename_by", max_chars=64)
        keep = st.radio("Where both labelled an item, keep", list(KEEP_NAMES), key="rename_keep", horizontal=True,
                        format_func=KEEP_NAMES.get)
        review = st.form_submit_button("Review the rename")
    if review:
        st.session_state.rename_pending = (task.name, source, target.strip(), by.strip(), keep or None)
    pending = st.session_state.get("rename_pending")
    if not pending or pending[0] != task.name:
        return
    _, source, target, by, keep = pending
    try:
        if by:
            check_annotator(by)
        plan = plan_rename(index, task, source, target)
    except InspectorError as exc:
        show_error(exc)
        return
    said = (f"{plan.events:,} label event(s) of {source} ({plan.labels:,} current labels) move to {target}"
            + (f", who has {plan.target_labels:,} label(s) already: a merge" if plan.merge else ": a rename"))
    if plan.both:
        said += (f". Both labelled {plan.both:,} item(s) ({plan.differ:,} differently): "
                 + (f"the {keep} label stays, the other goes to the history." if keep else
                    "choose which label stays above."))
    st.warning(md(said))
    c = st.columns(2)
    ready = bool(by) and (keep is not None or not plan.both)
    if c[0].button("Confirm the rename", key="rename_confirm", type="primary", disabled=not ready,
                   help=None if by else "Give your name first"):
        try:
            r = rename_annotator(index, task, source, target, by=by, keep=keep)
        except InspectorError as exc:
            show_error(exc)
            return
        st.session_state.agreement_renamed = (
            f"{'Merged' if r.merge else 'Renamed'} {r.source} {'into' if r.merge else 'to'} {r.target}: {r.events:,} "
            f"label event(s) moved. Whoever still labels as {r.source} adds labels under {r.source} again: have them "
            "correct the name on Annotate.")
        del st.session_state.rename_pending
        st.rerun()
    if c[1].button("Cancel", key="rename_cancel"):
        del st.session_state.rename_pending
        st.rerun()


if not result.annotators:
    st.info("No labels yet.")
    annotate_link("Annotate")
    annotators_section()
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
                                "score": d.score, "majority": d.majority or "tie",
                                **({"adjudicated": d.adjudication} if task.second_pass else {}),
                                **{f"label:{a}": v for a, v in d.labels.items()}}
                               for d in result.disagreements[:MAX_DISAGREEMENTS]]),
                 hide_index=True, placeholder="", key="agreement_disagreements")  # no id or score: blank, not None
    who = f" as {lead}" if lead else ""
    st.caption(md(f"Open an item to look again{who} (a second label replaces yours; with a second pass, "
                  "adjudicate there)."))
    for d in result.disagreements[:MAX_DISAGREEMENTS]:
        said = ", ".join(f"{a}: {v}" for a, v in d.labels.items())
        if d.doc is None:
            st.text(f"item {d.position + 1} ({d.status}) · {said}")
            continue
        annotate_link(f"doc {d.doc} · {said}", doc=str(d.doc), **({"round": "2"} if task.second_pass else {}))
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

annotators_section()
