"""Contamination: which benchmark items this corpus holds, how much of each, and the documents holding them.

Check HumanEval or uploaded benchmark files, read the summary and every item with its matched spans marked and its
evidence documents one click away; past reports are kept beside the index and listed (this corpus's bulletin); any
pasted text can be checked too. ?report=NAME&verdict=V&item=BENCHMARK:N reopens a view.
"""
import json
import tempfile
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from inspector import (
    PRESETS,
    BenchmarkError,
    CheckWorker,
    ContaminationParams,
    ContaminationReport,
    InspectorError,
    InvalidQuery,
    ItemResult,
    benchmark_stem,
    bounded_text,
    check_text,
    item_rows,
    keep_report,
    kept_reports,
    load_report,
    missed_note,
)
from pages._contamination_view import (
    UPLOAD_TYPES,
    benchmark_layout,
    benchmark_source,
    bulletin_signature,
    check_upload,
    decontamination_rows,
    hide_folder,
    histogram_rows,
    item_html,
    item_label,
    kept_report_path,
    measure_help,
    parse_item_key,
    report_name,
    snippet_html,
    sorted_items,
    summary_rows,
    unique_name,
    uploaded_name,
)
from pages._shared import PAGES, SETTINGS, current_index, md, show_error, stop_on_error

FILTERS = ["all", "dirty", "partial", "clean", "empty"]
ORDERS = {"desc": "coverage, highest first", "asc": "coverage, lowest first", "file": "file order"}
MAX_TABLE_ROWS = 100_000  # items in the table (the CSV download has them all)
MAX_CHOICES = 1000  # items offered in the detail picker (the table's first)
MAX_EVIDENCE = 20  # evidence documents shown per item
#: the match modes offered on an index with normalised shards ("auto" is "both" there: the strongest, the default)
MATCH_LABELS = {"auto": "both ways", "exact": "exact only", "normalized": "normalised only"}
ITEM_COLUMNS = ["item", "id", "verdict", "matched_by", "coverage", "overlap", "longest_match", "longest_count",
                "evidence_documents", "tokens", "text"]
TEXT_STYLE = ("<style>.contam-text{white-space:pre-wrap;word-wrap:break-word;font-size:0.85em}"
              ".contam-text mark{background:#fff3a3}.contam-text .longest mark{background:#fcb8a1}"
              ".contam-text .longest{border-bottom:2px solid #d9480f}"
              ".contam-text .template{color:#8a8a8a}.contam-text .template mark{background:#ecebe4}"
              ".kwic{font-family:monospace;white-space:pre-wrap;font-size:0.85em}</style>")

index = current_index()
st.title("Contamination")
st.caption("Which benchmark items occur in this corpus: each item's share of tokens inside corpus matches of at "
           "least L tokens (coverage: clean, partial or dirty), its n-gram overlap, its longest match and the "
           "documents holding it.")


@st.cache_resource(max_entries=8, show_spinner="Reading the report…")
def _report(path: str, signature: tuple) -> ContaminationReport:
    return load_report(path)


@st.cache_resource(max_entries=4)
def _bulletin(path: str, build: str, signature: tuple):
    return kept_reports(index)


@st.cache_resource(max_entries=8)
def _bundled_layout(name: str):
    return benchmark_layout(name)


@st.cache_resource
def _check_slot() -> threading.Lock:
    """One benchmark check at a time in this server: each is bounded, but two would double the memory."""
    return threading.Lock()


@st.cache_resource
def _worker() -> CheckWorker:
    return CheckWorker()


_worker().start()  # the first check does not wait for it, nor does another page while it imports


# -- what the URL says, checked before anything is read --------------------------------------------------------------
params = st.query_params
kept = _bulletin(str(index.path), index.build.name, bulletin_signature(index))
names = [report_name(r.path) for r in kept]
fresh = st.session_state.get("contam_fresh")  # the last report this session ran: (its kept name or None, the report)
with stop_on_error():
    url_report = bounded_text(params.get("report"), "report", 300)
    url_item = bounded_text(params.get("item"), "item", 300)
    url_verdict = params.get("verdict", "all")
    if url_verdict not in FILTERS:
        raise InvalidQuery(f"verdict must be one of {', '.join(FILTERS)}, not {url_verdict[:40]!r}")
    report_path = kept_report_path(index, url_report, names) if url_report else None
    if url_item:
        parse_item_key(url_item)
        if not url_report and not (fresh and fresh[0] is None):
            raise InvalidQuery("item needs a report: give report= too, or open one from the list")
showing = bool(url_report) or bool(fresh and fresh[0] is None)

# -- parameters, shared by the benchmark check and the text check ----------------------------------------------------
normalized_index = index.manifest.normalized is not None
defaults = ContaminationParams()  # the inputs start at the check's own defaults
helps = measure_help(defaults)  # the inputs' help says what each one sets, not its value
with st.expander("Parameters"):
    c = st.columns(3)
    n = c[0].number_input("n (overlap n-grams)", 1, 1000, defaults.n, key="contam_n", help=helps["n"])
    min_match = c[1].number_input("L (minimum match, tokens)", 1, 1000, defaults.min_match, key="contam_min_match",
                                  help=helps["L"])
    evidence = c[2].number_input("Evidence documents per item", 0, MAX_EVIDENCE, defaults.evidence_documents,
                                 key="contam_evidence", help=helps["evidence"])
    c = st.columns(2)
    if normalized_index:
        match = c[0].radio("Match", list(MATCH_LABELS), list(MATCH_LABELS).index(defaults.match),
                           format_func=MATCH_LABELS.get, horizontal=True, key="contam_match", help=helps["match"])
    else:  # exact is all this index can do: said, with how to build one that does more
        match = c[0].radio("Match", ["auto"], format_func=lambda _: "exact (this index has no normalised shards)",
                           disabled=True, key="contam_match_exact", help=helps["match"])
        c[0].caption(missed_note("exact"))
    count_templates = c[1].toggle("Count template text", defaults.count_templates, key="contam_count_templates",
                                  help=helps["count_templates"])
    clean_below, dirty_from = st.slider("Clean below / dirty from (coverage)", 0.0, 1.0,
                                        (defaults.clean_below, defaults.dirty_from), 0.05, key="contam_thresholds",
                                        help=helps["thresholds"])
check_params = ContaminationParams(n=int(n), min_match=int(min_match), clean_below=clean_below,
                                   dirty_from=dirty_from, evidence_documents=int(evidence), match=match,
                                   count_templates=bool(count_templates),
                                   max_items=SETTINGS.max_check_items, max_text_chars=SETTINGS.max_check_chars)


def show_evidence(item: ItemResult) -> None:
    """The documents holding an item's longest match: the match in context, and a link marking it in its document."""
    approx = " (at least)" if item.evidence_approx else ""
    st.caption(f"{item.evidence_documents:,} document(s){approx} hold the longest match; "
               f"{min(len(item.evidence), MAX_EVIDENCE)} shown")
    for e in item.evidence[:MAX_EVIDENCE]:
        with st.container(border=True):
            st.html(f'{TEXT_STYLE}<div class="kwic">{snippet_html(e.snippet)}</div>')
            where = (f"doc {e.doc}", e.id, f"{Path(e.file).name} row {e.row}")
            label = md("Open " + " · ".join(part for part in where if part))
            query = {"doc": str(e.doc)} | ({"mark": f"{e.span[0]}-{e.span[1]}"} if e.span else {})
            st.page_link(PAGES["document"], label=label, query_params=query)


def show_item(item: ItemResult, params: ContaminationParams) -> None:
    """An item's measures (each saying what it means with `params`, the check's), its text with the matched spans
    marked (the longest match in red, template text grey), its evidence."""
    helps = measure_help(params)
    c = st.columns(3) + st.columns(3)  # two rows: six numbers side by side would cut "276 tokens" short
    c[0].metric("Verdict", item.verdict, help=helps["verdict"])
    c[1].metric("Coverage", "–" if item.coverage is None else f"{item.coverage:.1%}", help=helps["coverage"])
    c[2].metric("N-gram overlap", "–" if item.overlap is None else f"{item.overlap:.1%}",
                help=f"{helps['overlap']} Here {item.ngrams_found:,} of {item.ngrams:,}.")
    c[3].metric("Longest match", f"{item.longest_match:,} tokens",
                help=f"{helps['longest_match']} It occurs {item.longest_count:,} times.")
    c[4].metric("Evidence documents", f"{item.evidence_documents:,}", help=helps["evidence_documents"])
    if item.matched_by is not None:  # None: a report kept before the match modes cannot say
        c[5].metric("Matched by", item.matched_by or "none", help=helps["matched_by"])
    template = item.template_spans
    body = item_html(item.text, item.spans, item.longest_span, SETTINGS.document_window_chars, template)
    st.html(f'{TEXT_STYLE}<pre class="contam-text">{body}</pre>')
    st.caption("Marked: spans inside corpus matches of at least L tokens; red: the longest match"
               + ("; grey: template text, shared by several items of this benchmark file "
                  + ("(counted, as asked)." if params.count_templates else "(not counted).")
                  if template else "."))
    if item.evidence:
        show_evidence(item)


# -- check benchmarks -----------------------------------------------------------------------------------------------
with st.expander("Check benchmarks", expanded=not showing):
    bundled = st.checkbox("HumanEval (bundled)", value=True, key="contam_humaneval")
    uploads = st.file_uploader(
        f"Or upload benchmark files ({', '.join(UPLOAD_TYPES)}; up to {SETTINGS.max_upload_mb} MB each)",
        type=list(UPLOAD_TYPES), accept_multiple_files=True, key="contam_uploads",
        max_upload_size=SETTINGS.max_upload_mb) or []
    sources = []  # (name, spec, upload, safe file name, layout)
    taken: set[str] = set()
    if bundled:
        sources.append(("humaneval", "humaneval", None, None, _bundled_layout("humaneval")))
        taken.add("humaneval")
    layouts = st.session_state.setdefault("contam_layouts", {})
    for upload in uploads[: SETTINGS.max_upload_files]:
        try:  # type and size checked here, whatever the browser let through
            safe = check_upload(upload.name, upload.size, SETTINGS.max_upload_mb * 2**20)
            if upload.file_id not in layouts:  # read once per upload, in a temporary folder removed at once
                with tempfile.TemporaryDirectory(prefix="inspector-upload-") as tmp:
                    path = Path(tmp) / safe
                    path.write_bytes(upload.getbuffer())
                    try:  # the file is named as uploaded (`shown_as`), never by its temporary path
                        layouts[upload.file_id] = benchmark_layout(f"{benchmark_stem(safe)}={path}",
                                                                   shown_as=uploaded_name(upload.name))
                    except InspectorError as exc:  # and should a message quote the folder anyway, it goes
                        raise BenchmarkError(hide_folder(str(exc), tmp)) from None
        except InspectorError as exc:
            show_error(exc)
            continue
        sources.append((unique_name(benchmark_stem(safe), taken), None, upload, safe, layouts[upload.file_id]))
    if len(uploads) > SETTINGS.max_upload_files:
        st.warning(f"Only the first {SETTINGS.max_upload_files} files are checked.")

    choices = {}  # benchmark name -> how open_benchmark picks its fields
    for name, _, upload, _, layout in sources:
        with st.container(border=True):
            file = f" ({md(uploaded_name(upload.name))})" if upload is not None else ""
            st.markdown(f"**{md(name)}**{file} · {layout.format} · fields: {md(', '.join(layout.available_fields))}")
            if layout.preset:
                st.caption(md(f"Preset picked automatically: {layout.preset} (checks "
                              f"{', '.join(layout.preset_fields)})"))
            else:
                st.caption("No preset matches its fields: choose the fields to check, or a preset.")
            left, right = st.columns(2)
            fields = left.multiselect("Fields to check (instead of the preset)", layout.available_fields,
                                      key=f"contam_fields_{name}")
            preset = right.selectbox("Preset", list(PRESETS), key=f"contam_preset_{name}", disabled=bool(fields),
                                     index=list(PRESETS).index(layout.preset) if layout.preset else None,
                                     placeholder="choose a preset")
            choices[name] = {"fields": fields} if fields else {"preset": preset} if preset else None

    if st.button("Run the check", type="primary", disabled=not sources, key="contam_run"):
        missing = [name for name, options in choices.items() if options is None]
        if missing:
            st.error(md(f"Choose the fields or a preset for {', '.join(missing)}."))
            st.stop()
        slot = _check_slot()
        if not slot.acquire(blocking=False):
            st.warning("Another contamination check is running on this server: run this one when it has ended.")
            st.stop()
        try:  # released whatever ends the run: an error, a stop, a rerun raised inside a widget call
            bar = st.progress(0.0, text="Opening the benchmarks…")
            order = [name for name, *_ in sources]

            def progress(stage: str, done: int, total: int) -> None:
                name = stage.removeprefix("check ")
                at = order.index(name) if name in order else 0
                bar.progress(at / len(order), text=md(f"{stage}: {done:,} items checked"))

            with tempfile.TemporaryDirectory(prefix="inspector-upload-") as tmp:
                specs = []
                for name, spec, upload, safe, _ in sources:
                    if upload is not None:
                        path = Path(tmp) / name / safe  # one folder per benchmark: names never collide
                        path.parent.mkdir()
                        path.write_bytes(upload.getbuffer())
                        spec = f"{name}={path}"
                    options = choices[name] | ({"shown_as": uploaded_name(upload.name)} if upload else {})
                    specs.append((spec, options))
                try:  # in the worker process: this server's other sessions keep the interpreter meanwhile
                    raw = _worker().check(index, specs, check_params, progress=progress)
                except InspectorError as exc:  # files are named as uploaded; should a message quote the folder
                    raise BenchmarkError(hide_folder(str(exc), tmp)) from None
        except InspectorError as exc:
            show_error(exc)
            st.stop()
        finally:
            slot.release()
        report = ContaminationReport.from_dict(raw)
        bar.progress(1.0, text=f"Checked {len(report.items):,} items")
        try:  # kept as the worker sent it: turning the report back into a dict would hold the interpreter again
            kept_name = report_name(keep_report(index, raw))
        except (InspectorError, OSError) as exc:
            st.warning(md(f"The report could not be kept beside the index ({exc}); it is shown for this session "
                          "and can be downloaded."))
            kept_name = None
        st.session_state.contam_fresh = (kept_name, report)
        st.query_params.from_dict({"report": kept_name} if kept_name else {})
        st.rerun()

# -- check a text ---------------------------------------------------------------------------------------------------
with st.expander("Check a text", expanded="contam_text_result" in st.session_state):
    text = st.text_area("Paste a text (a test item, a model's output)", key="contam_text", height=150,
                        max_chars=SETTINGS.max_check_text_chars)
    if st.button("Check the text", key="contam_check_text"):
        try:
            bounded_text(text, "the text", SETTINGS.max_check_text_chars)
            st.session_state.contam_text_result = (check_text(index, text, check_params), check_params)
        except InspectorError as exc:
            show_error(exc)
    if "contam_text_result" in st.session_state:
        show_item(*st.session_state.contam_text_result)

# -- the bulletin: reports kept beside the index --------------------------------------------------------------------
st.subheader("Reports on this corpus")
if kept:
    st.dataframe(pd.DataFrame([{"created": r.created, "mode": r.mode, "benchmarks": ", ".join(r.benchmarks),
                                "items": r.items, "dirty": r.dirty,
                                "dirty %": 100 * r.dirty / r.items if r.items else 0.0,
                                "build": r.build, "report": report_name(r.path)} for r in kept]),
                 hide_index=True, column_config={
                     "mode": st.column_config.TextColumn(help=helps["match"]),
                     "items": st.column_config.NumberColumn(help=helps["items"]),
                     "dirty": st.column_config.NumberColumn(help="Items with coverage from the report's dirty "
                                                                 "threshold."),
                     "dirty %": st.column_config.NumberColumn(format="%.1f", help=helps["dirty %"])})
    report_labels = {"": "—"} | {report_name(r.path): f"{r.created} · {', '.join(r.benchmarks)} · {r.mode} · "
                                 f"{r.dirty:,} of {r.items:,} dirty" for r in kept}
    chosen = st.selectbox("Open a report", [""] + names, index=names.index(url_report) + 1 if url_report else 0,
                          format_func=report_labels.get)
    if chosen != url_report:  # another report: its view from the start
        st.query_params.from_dict({"report": chosen} if chosen else {})
        st.rerun()
else:
    st.info("No reports kept beside this index yet: run a check.")

# -- the open report ------------------------------------------------------------------------------------------------
if report_path is not None:
    with stop_on_error():  # removed or replaced since it was listed
        report = fresh[1] if fresh and fresh[0] == url_report else _report(str(report_path), bulletin_signature(index))
elif fresh is not None and fresh[0] is None:
    report = fresh[1]
else:
    st.stop()

st.subheader(md(f"Report {url_report or '(not kept)'}"))
p = report.params
report_helps = measure_help(p)
templates = "templates counted" if p.count_templates else "templates not counted"
st.caption(md(f"{report.mode} mode · build {report.build} · {report.tokenizer} tokenizer · created "
              f"{report.created} · n={p.n}, L={p.min_match}, clean below {p.clean_below:.0%}, dirty "
              f"from {p.dirty_from:.0%}") + ("" if report.kept_before_ways else f" · {templates}"))
if note := missed_note(report):
    st.info(note)
summary_formats = {"dirty %": "%.1f", "mean overlap": "%.3f", "mean coverage": "%.3f"}
summary = pd.DataFrame(summary_rows(report))
st.dataframe(summary, hide_index=True, column_config={"benchmark": st.column_config.TextColumn(
    help=report_helps["benchmark"])} | {column: st.column_config.NumberColumn(format=summary_formats.get(column),
                                                                             help=report_helps[column])
                                        for column in summary.columns[1:]})
st.caption(md(" — ".join(benchmark_source(b) for b in report.benchmarks)))
for b in report.benchmarks:
    if b.problems:
        with st.expander(md(f"{b.name}: {b.skipped:,} record(s) skipped")):
            st.text("\n".join(b.problems[:100]))
st.caption("Items per coverage decile")
st.bar_chart(pd.DataFrame(histogram_rows(report)), x="coverage", y="items", color="benchmark", stack=False,
             sort=False)

stem = (url_report or "report").removesuffix(".json")
d = st.columns(3)
d[0].download_button("Report (JSON)", lambda: json.dumps(report.as_dict(), ensure_ascii=False), f"{stem}.json",
                     "application/json", key="contam_download_report")
d[1].download_button(f"Decontamination list (CSV, {len(report.documents):,} documents)",
                     lambda: pd.DataFrame(decontamination_rows(report), columns=[
                         "doc", "id", "file", "row", "items", "tokens_matched"]).to_csv(index=False),
                     f"{stem}-decontamination.csv", "text/csv", key="contam_download_documents")
d[2].download_button("Items (CSV)", lambda: pd.DataFrame(item_rows(report.items)).to_csv(index=False),
                     f"{stem}-items.csv", "text/csv", key="contam_download_items")

# -- items ----------------------------------------------------------------------------------------------------------
st.subheader("Items")
by_key = {i.key: i for i in report.items}
if url_item and url_item not in by_key:
    st.error(md(f"this report has no item {url_item[:80]!r}"))
    st.stop()
counts = {v: sum(1 for i in report.items if i.verdict == v) for v in FILTERS[1:]} | {"all": len(by_key)}
left, right = st.columns(2)
verdict = left.radio("Verdict", FILTERS, index=FILTERS.index(url_verdict), horizontal=True,
                     format_func=lambda v: f"{v} ({counts[v]:,})")
order = right.radio("Order", list(ORDERS), horizontal=True, format_func=ORDERS.get, key="contam_order")
if verdict != url_verdict:  # another filter: its items from the first
    st.query_params.from_dict({k: v for k, v in params.items() if k != "item"} | {"verdict": verdict})
    st.rerun()
shown = sorted_items(report.items, verdict, order)
listed = shown[:MAX_TABLE_ROWS]
table = pd.DataFrame(item_rows(listed, text_chars=120), columns=ITEM_COLUMNS)
table["matched_by"] = [i.matched_by or "" for i in listed]
ways = any(i.matched_by is not None for i in listed[:1])  # reports kept before the match modes cannot say
table_key = f"contam_items_{url_report}_{verdict}_{order}"
column = st.column_config
picked = st.dataframe(  # a missing value (an item without id, an empty item's coverage) is blank, never "None"
    table[[c for c in ITEM_COLUMNS if ways or c != "matched_by"]], hide_index=True, placeholder="",
    key=table_key, on_select="rerun", selection_mode="single-row", column_config={
        "item": column.TextColumn(help="benchmark:record number (0-based). Click a row to open its item below."),
        "verdict": column.TextColumn(help=report_helps["verdict"]),
        "matched_by": column.TextColumn("matched by", help=report_helps["matched_by"]),
        "coverage": column.ProgressColumn(min_value=0.0, max_value=1.0, format="percent",
                                          help=report_helps["coverage"]),
        "overlap": column.NumberColumn(format="%.3f", help=report_helps["overlap"]),
        "longest_match": column.NumberColumn("longest match", help=report_helps["longest_match"]),
        "longest_count": column.NumberColumn("longest count", help=report_helps["longest_count"]),
        "evidence_documents": column.NumberColumn("evidence documents", help=report_helps["evidence_documents"]),
        "tokens": column.NumberColumn(help=report_helps["tokens"])})
rows = picked.selection.rows
if not rows:  # nothing picked (or unpicked): the next pick opens, even of the same row
    st.session_state.pop("contam_picked", None)
elif (picked_now := (table_key, rows[0])) != st.session_state.get("contam_picked"):
    st.session_state.contam_picked = picked_now  # a new pick opens its item, in the URL; an old one stays put
    st.query_params["item"] = listed[rows[0]].key
    st.rerun()
if len(shown) > MAX_TABLE_ROWS:
    st.caption(f"The first {MAX_TABLE_ROWS:,} of {len(shown):,} items; the CSV download has them all.")
if not shown:
    st.info("No items with this verdict.")
    st.stop()

keys = [i.key for i in shown[:MAX_CHOICES]]
if url_item and url_item not in keys:
    keys.insert(0, url_item)
current = url_item or keys[0]
item_labels = {k: item_label(by_key[k]) for k in keys}
chosen_item = st.selectbox("Item" if len(shown) <= MAX_CHOICES else f"Item (the first {MAX_CHOICES:,} in this order)",
                           keys, index=keys.index(current), format_func=item_labels.get)
if chosen_item != current:
    st.query_params["item"] = chosen_item
    st.rerun()
item = by_key[chosen_item]
st.markdown(f"#### {md(chosen_item)}" + (f" · {md(item.id)}" if item.id else ""))
show_item(item, p)
