"""Sample: a stratified, reproducible sample of documents by a quality score, and a labelling task made from it.

Choose the score column, the bins (equal width or equal count), how many documents per bin, the seed, a metadata
filter and a full-text query; the bins and the sampled documents show, each document one click from its page. The
URL reproduces the sample: ?score=&bins=&binning=&per_bin=&seed=&where=&query= (score empty: a uniform sample),
and &exclude_task= leaves out what that task has labelled (the bins stay; the next documents come instead).
"""
from urllib.parse import quote

import pandas as pd
import streamlit as st

from inspector import (
    BINNINGS,
    InspectorError,
    InvalidQuery,
    bounded_text,
    create_task,
    labelled_docs,
    parse_scheme,
    sample,
    tasks,
)
from pages._shared import PAGES, SETTINGS, current_index, md, show_error, stop_on_error
from pages._urls import url_int

MAX_BINS = 100
MAX_PER_BIN = 1000  # a task holds at most 100,000 items: 100 bins of 1,000
MAX_SEED = 2**53 - 1  # the largest whole number a browser's number box holds exactly
MAX_ROWS = 2000  # sampled documents shown in the table (the task holds them all)
MAX_GUIDELINE = 20_000
PARAMS = ("score", "bins", "binning", "per_bin", "seed", "where", "query", "exclude_task")

index = current_index()
st.title("Sample")
st.caption("Draw documents from every band of a quality score — the same documents for the same settings and seed "
           "— and make a labelling task of them for the Annotate page.")
numeric = list(index.catalog.numeric_columns())
task_names = [t.name for t in tasks(index)]


@st.cache_resource(max_entries=16, show_spinner="Drawing the sample…")
def _sample(path: str, build: str, score: str | None, bins: int, binning: str, per_bin: int, seed: int, where: str,
            query: str, exclude: tuple[int, ...]):
    return sample(index, score, bins=bins if score else None, binning=binning, per_bin=per_bin, seed=seed,
                  where=where or None, query=query or None, exclude_docs=exclude)


# -- what the URL says, every value checked before anything is drawn -------------------------------------------------
params = st.query_params
drawn = any(name in params for name in PARAMS)
default_score = "quality" if "quality" in numeric else numeric[0] if numeric else ""
with stop_on_error():
    score = bounded_text(params.get("score", default_score), "score", 200)
    if score and score not in numeric:
        raise InvalidQuery(f"score {score[:40]!r} is not a numeric column of this corpus; the numeric columns are: "
                           f"{', '.join(numeric) or 'none'} (or leave it empty for a uniform sample)")
    bins = url_int(params.get("bins"), "bins", 1, MAX_BINS, default=5)
    binning = params.get("binning", "width")
    if binning not in BINNINGS:
        raise InvalidQuery(f"binning must be one of {', '.join(BINNINGS)}, not {binning[:40]!r}")
    per_bin = url_int(params.get("per_bin"), "per_bin (documents per bin)", 1, MAX_PER_BIN, default=10)
    seed = url_int(params.get("seed"), "seed", 0, MAX_SEED, default=0)
    where = bounded_text(params.get("where"), "where (the filter)", SETTINGS.max_query_chars)
    query = bounded_text(params.get("query"), "query (the full-text query)", SETTINGS.max_query_chars)
    exclude_task = bounded_text(params.get("exclude_task"), "exclude_task (a task)", 200)
    if exclude_task and exclude_task not in task_names:
        raise InvalidQuery(f"exclude_task: no task {exclude_task[:64]!r} at this index")

# the form starts from the URL (and again whenever the URL changes under it, e.g. a shared link)
url_state = (score, bins, binning, per_bin, seed, where, query, exclude_task)
if st.session_state.get("sample_url_state") != url_state:
    st.session_state.update(sample_score=score, sample_bins=bins, sample_binning=binning, sample_per_bin=per_bin,
                            sample_seed=seed, sample_where=where, sample_query=query, sample_exclude=exclude_task,
                            sample_url_state=url_state)

with st.form("sample_form"):
    c = st.columns(5)
    c[0].selectbox("Score column", [""] + numeric, key="sample_score",
                   format_func=lambda c: c or "(none: uniform sample)")
    c[1].number_input("Bins", 1, MAX_BINS, key="sample_bins")
    c[2].radio("Binning", BINNINGS, key="sample_binning", horizontal=True,
               help="width: equal-width score ranges; quantile: about as many documents in each bin")
    c[3].number_input("Documents per bin", 1, MAX_PER_BIN, key="sample_per_bin")
    c[4].number_input("Seed", 0, MAX_SEED, key="sample_seed")
    left, right = st.columns(2)
    left.text_input("Filter (where)", key="sample_where", placeholder="source = web AND tokens > 100",
                    max_chars=SETTINGS.max_query_chars, help="COLUMN OP VALUE conditions joined by AND")
    right.text_input("Full-text query (optional)", key="sample_query", max_chars=SETTINGS.max_query_chars,
                     help="Tantivy syntax: only the documents it matches are sampled")
    st.selectbox("Leave out what this task has labelled", [""] + task_names, key="sample_exclude",
                 format_func=lambda t: md(t) if t else "(none)")
    if st.form_submit_button("Draw the sample", type="primary"):
        st.query_params.from_dict({k: v for k, v in params.items() if k not in PARAMS} | {
            "score": st.session_state.sample_score, "bins": str(st.session_state.sample_bins),
            "binning": st.session_state.sample_binning, "per_bin": str(st.session_state.sample_per_bin),
            "seed": str(st.session_state.sample_seed), "where": st.session_state.sample_where,
            "query": st.session_state.sample_query, "exclude_task": st.session_state.sample_exclude})
        st.rerun()

if not drawn:
    st.info("Choose the settings and draw a sample.")
    st.stop()
with stop_on_error():
    exclude = labelled_docs(index, exclude_task) if exclude_task else ()
    drawn_sample = _sample(str(index.path), index.build.name, score or None, bins, binning, per_bin, seed, where, query,
                           exclude)

# -- the sample ------------------------------------------------------------------------------------------------------
for warning in drawn_sample.warnings:
    st.warning(md(f"The query's {warning} was ignored."))
st.text(f"{drawn_sample.matched:,} documents match · {drawn_sample.missing_scores:,} without a score (in no bin) · "
        f"{len(drawn_sample.documents):,} sampled")
if drawn_sample.score and len(drawn_sample.bins) < drawn_sample.requested_bins:
    st.caption(f"{len(drawn_sample.bins)} bins of the {drawn_sample.requested_bins} asked for: bins whose edges are "
               "equal scores (ties) are merged, so a run of equal scores never straddles two bins.")
st.subheader("Bins")
st.dataframe(pd.DataFrame([{"bin": b.bin, "low": b.low, "high": b.high, "population": b.population,
                            "sampled": b.sampled, "excluded": b.excluded} for b in drawn_sample.bins],
                          columns=["bin", "low", "high", "population", "sampled", "excluded"]),
             hide_index=True, key="sample_bins_table")
st.subheader("Sampled documents")
shown = drawn_sample.documents[:MAX_ROWS]
chosen_index = f"&index={quote(params['index'])}" if params.get("index") else ""  # a link may open a new tab
st.dataframe(
    pd.DataFrame([{"open": f"document?doc={d.doc}{chosen_index}", "doc": d.doc, "bin": d.bin, "score": d.score,
                   "id": d.id, "source": d.source} for d in shown],
                 columns=["open", "doc", "bin", "score", "id", "source"]),
    hide_index=True, key="sample_documents_table",
    column_config={"open": st.column_config.LinkColumn("open", display_text="open", width="small")})
if len(drawn_sample.documents) > MAX_ROWS:
    st.caption(f"The first {MAX_ROWS:,} of {len(drawn_sample.documents):,} documents; the task holds them all.")
if not drawn_sample.documents:
    st.info("No documents in this sample: loosen the filter or the query.")
    st.stop()

# -- a task from this sample -----------------------------------------------------------------------------------------
st.subheader("Create a task from this sample")
# outside the form, so that choosing an ordinal scale shows its bounds at once (and keep / drop shows none)
kind = st.radio("Labels", ["keep-drop", "ordinal"], key="task_scheme", horizontal=True,
                format_func={"keep-drop": "keep / drop", "ordinal": "ordinal scale"}.get)
with st.form("task_form"):
    name = st.text_input("Task name", key="task_name", max_chars=64,
                         help="1-64 letters, digits and . _ @ + - (starting with a letter or digit)")
    if kind == "ordinal":  # keep / drop has no scale: no bounds to show
        c = st.columns(2)
        low = c[0].number_input("Scale from", -1000, 1000, 0, key="task_scale_low")
        high = c[1].number_input("Scale to", -1000, 1000, 5, key="task_scale_high")
    guideline = st.text_area("Guideline (shown to annotators)", key="task_guideline", max_chars=MAX_GUIDELINE,
                             placeholder="Keep: fluent prose a model should learn from. Drop: spam, boilerplate.")
    second_pass = st.checkbox("Second pass over the first pass's disagreements", key="task_second_pass")
    hide = st.columns([1, 2])
    hide_score = hide[0].checkbox("Hide the score from annotators", value=True, key="task_hide_score",
                                  help="They may reveal it one item at a time; ids and source files are hidden too")
    hidden_columns = hide[1].multiselect("Also hide these columns", index.catalog.metadata_columns(),
                                         key="task_hidden_columns", placeholder="e.g. source")
    create = st.form_submit_button("Create the task", type="primary")
if create:
    try:
        scheme = parse_scheme("keep-drop" if kind == "keep-drop" else f"ordinal:{int(low)}-{int(high)}")
        task = create_task(index, name.strip(), drawn_sample, scheme=scheme, guideline=guideline,
                           sample_args={"score": score or None, "bins": bins, "binning": binning,
                                        "per_bin": per_bin, "seed": seed, "where": where, "query": query},
                           second_pass=second_pass, score_name=score or None, hide_score=hide_score,
                           hidden_columns=hidden_columns)
    except InspectorError as exc:
        show_error(exc)
    else:
        st.success(md(f"Task {task.name} created: {task.items:,} items, labels {task.scheme.spec}."))
        st.page_link(PAGES["annotate"], label=md(f"Annotate {task.name}"), icon=":material/edit_note:",
                     query_params={"task": task.name})
