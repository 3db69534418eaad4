"""Annotate: label a task's documents one at a time, with one key per label.

Pick a task (?task=NAME) and give your name (?annotator=NAME); the page offers the first item you have neither
labelled nor skipped (so it resumes where you left off), its document a window at a time, the guideline, and the
label buttons (keep = k, drop = d, or the digits of an ordinal scale), which take one press at a time and list
what came of each (pages/_label_keys.py). The score stays hidden unless you reveal it. Every label is committed as
it is given. ?doc=N opens that document's item (to relabel or adjudicate); ?round=2 is
a second pass over the first pass's disagreements; ?at=OFFSET is the first character of the window shown.
"""
import re

import streamlit as st

from inspector import (
    InspectorError,
    InvalidQuery,
    add_label,
    check_annotator,
    current_labels,
    document_window,
    get_task,
    highlight_html,
    next_item,
    progress,
    resolve,
    skip,
    tasks,
    url_int,
    url_text,
)
from pages._label_keys import action, answer, label_keys
from pages._shared import PAGES, SETTINGS, current_index, md, show_error, stop_without_tasks

MAX_TASK_CHOICES = 1000
MAX_NOTE = 2000
MAX_BUTTONS = 11  # labels shown as buttons (a longer ordinal scale gets a slider)
TEXT_STYLE = "white-space:pre-wrap;word-wrap:break-word;font-size:0.9em;max-height:60vh;overflow-y:auto"

index = current_index()
st.title("Annotate")
size = SETTINGS.document_window_chars


def signed_in_name() -> str:
    """The signed-in user's e-mail or name, when the deployment configures Streamlit's OIDC login and one is usable
    as an annotator name; "" otherwise (no auth configured, not signed in)."""
    try:
        if not st.user.is_logged_in:
            return ""
        candidates = [st.user.get("email"), st.user.get("name")]
    except Exception:  # noqa: BLE001  (no [auth] section, or an older Streamlit: no signed-in name)
        return ""
    for value in candidates:
        cleaned = re.sub(r"[^\w.@+-]+", "-", str(value or "")).strip("-")[:64]
        try:
            return check_annotator(cleaned)
        except InspectorError:
            continue
    return ""


# -- what the URL says, checked before anything is read --------------------------------------------------------------
params = st.query_params
all_tasks = tasks(index)
names = [t.name for t in all_tasks]
try:
    url_task = url_text(params.get("task"), "task", 64)
    if url_task and url_task not in names:
        raise InvalidQuery(f"there is no task {url_task!r} at this index; create one on the Sample page")
    url_annotator = params.get("annotator")
    if url_annotator is not None:
        url_text(url_annotator, "annotator", 64)
        check_annotator(url_annotator)
    url_doc = None if params.get("doc") in (None, "") else url_int(params.get("doc"), "doc", 0,
                                                                     max(0, index.n_documents - 1))
    url_round = url_int(params.get("round"), "round", 1, 2, default=1)
    at = url_int(params.get("at"), "at (the first character shown)", 0, 10**15, default=0)
    task = get_task(index, url_task) if url_task else None
    if url_round == 2 and task is not None and not task.second_pass:
        raise InvalidQuery(f"task {task.name!r} has no second pass: round must be 1")
except InspectorError as exc:
    show_error(exc)
    st.stop()

stop_without_tasks(names)

saved = st.session_state.pop("annotate_saved", None)  # the confirmation of the label given on the last run
if saved:
    st.toast(md(saved), icon=":material/check:")  # a toast: the page's layout stays put under the keys
failed = st.session_state.pop("annotate_failed", None)  # a label the last run could not save
if failed:
    st.error(md(failed))

# -- who labels which task -------------------------------------------------------------------------------------------
left, right = st.columns(2)
choices = names[-MAX_TASK_CHOICES:]
if url_task and url_task not in choices:
    choices.insert(0, url_task)
chosen = left.selectbox("Task", choices, index=choices.index(url_task) if url_task else None,
                        placeholder="choose a task", key=f"annotate_task_{url_task}")
if chosen != (url_task or None):  # another task: from its first unlabelled item
    st.query_params.from_dict({k: v for k, v in params.items() if k in ("index", "annotator")} | {"task": chosen})
    st.rerun()

if url_annotator is not None and url_annotator != st.session_state.get("annotator_seen"):
    st.session_state.annotator_name = st.session_state.annotator_seen = url_annotator
elif "annotator_name" not in st.session_state:  # a widget's value is dropped on other pages: kept in annotator_seen
    st.session_state.annotator_name = st.session_state.get("annotator_seen") or signed_in_name()
annotator = right.text_input("Your name", key="annotator_name", max_chars=64,
                             help="1-64 letters, digits and . _ @ + -: your labels are kept under it")
if annotator:
    try:
        check_annotator(annotator)
    except InspectorError as exc:
        show_error(exc)
        st.stop()
    if annotator != url_annotator:
        st.session_state.annotator_seen = annotator
        st.query_params["annotator"] = annotator

if task is None or not annotator:
    st.info("Choose a task and give your name to start labelling.")
    st.stop()

# -- the task: guideline, round, progress ----------------------------------------------------------------------------
round_ = url_round
if task.second_pass:
    round_ = st.segmented_control("Round", [1, 2], default=url_round, key=f"annotate_round_{url_round}",
                                  format_func={1: "First pass", 2: "Second pass (disagreements)"}.get) or url_round
    if round_ != url_round:
        st.query_params.from_dict({k: v for k, v in params.items() if k not in ("doc", "at")} | {"round": str(round_)})
        st.rerun()
with st.expander("Guideline", expanded=True):
    if task.guideline.strip():
        st.markdown("  \n".join(md(line) for line in task.guideline.splitlines()))
    else:
        st.caption("This task has no guideline.")
    st.caption(md(f"Labels: {', '.join(task.scheme.names)} · {task.items:,} items"))

try:
    done = progress(index, task, annotator, round=round_)
    items = [i for i in resolve(index, task) if i.doc is not None]
except InspectorError as exc:
    show_error(exc)
    st.stop()
if done.unavailable:
    st.warning(f"{done.unavailable:,} item(s) of this task changed or vanished after a rebuild of the index: they are "
               "not offered.")
st.progress(done.labelled / done.items if done.items else 1.0,
            text=f"{done.labelled:,} of {done.items:,} labelled · {done.skipped:,} skipped · "
                 f"{done.remaining:,} to go")
if round_ == 2:  # the second pass offers the first pass's disagreements
    first: dict[int, set] = {}
    for label in current_labels(index, task):
        if label.round == 1:
            first.setdefault(label.position, set()).add(label.value)
    items = [i for i in items if len(first.get(i.position, ())) > 1]

# -- the item: from ?doc=, else the first one this annotator has not done --------------------------------------------
if url_doc is not None:
    item = next((i for i in items if i.doc == url_doc), None)
    if item is None:
        st.error(md(f"document {url_doc} is not an item of task {task.name}"
                    + (" in the second pass" if round_ == 2 else "")))
        st.stop()
else:
    item = next_item(index, task, annotator, round=round_)


def go(doc: int | None, start: int = 0) -> None:
    """Show another item (None: the next unlabelled one), or another window of this one."""
    keep = {k: v for k, v in params.items() if k not in ("doc", "at")}
    st.query_params.from_dict(keep | ({"doc": str(doc)} if doc is not None else {})
                              | ({"at": str(start)} if start else {}))
    st.rerun()


def label_actions(scheme) -> list[dict]:
    """The buttons of the label keys: one per label (keys k and d, or an ordinal scale's digits) unless the scale
    is too long for buttons (a slider then), and Skip (s)."""
    buttons = []
    if len(scheme.values) <= MAX_BUTTONS:
        for value, name in zip(scheme.values, scheme.names):
            key = (name if len(name) == 1 else "") if scheme.ordinal else {"keep": "k", "drop": "d"}[name]
            buttons.append(action("label", value, name, key))
    return buttons + [action("skip", None, "skip", "s")]


position = items.index(item) if item is not None else len(items)
previous = items[position - 1] if position > 0 else None
actions = label_actions(task.scheme)

if item is None:
    st.success(f"All {done.items:,} items of this round are done. Thank you!" if not done.skipped else
               f"Every item is labelled or skipped: {done.skipped:,} skipped.")
    label_keys(task.name, annotator, round_, None, actions)  # the last press's outcome; a press now is refused
    c = st.columns(3)
    if done.skipped and c[0].button("Label the skipped items", key="annotate_skipped"):
        go(next_item(index, task, annotator, round=round_, include_skipped=True).doc)
    if previous is not None and c[1].button("Back", key="annotate_back", shortcut="b", icon=":material/undo:"):
        go(previous.doc)
    st.page_link(PAGES["agreement"], label="See the agreement", icon=":material/balance:",
                 query_params={"task": task.name})
    st.stop()

mine = {(label.position, label.round): label for label in current_labels(index, task)
        if label.annotator == annotator}.get((item.position, round_))
try:
    window = document_window(index, item.doc, at, size)
except InspectorError as exc:
    show_error(exc)
    st.stop()

st.subheader(f"Item {item.position + 1:,} of {task.items:,}")
facts = f"doc {window.doc} · id {window.id} · {window.tokens:,} tokens · {window.chars:,} characters"
if item.status == "moved":
    facts += " · moved since the task was made (same text)"
st.text(facts)
if mine is not None:
    st.info(md(f"You labelled this item {mine.label}" + (f" (note: {mine.note})" if mine.note else "")
               + ": a new label replaces it, the old one stays in the history."))
if st.toggle("Show the score", key="annotate_show_score", help="Hidden by default, so it does not anchor your label"):
    st.text(f"{task.score_name or 'score'}: {'–' if item.score is None else item.score}")

if window.chars > size or window.start:
    st.caption(f"Characters {window.start:,}–{window.end:,} of {window.chars:,}")
    back, forward = st.columns(2)
    if window.start and back.button(f"Previous {size:,} characters", key="annotate_previous_piece"):
        go(item.doc, max(0, window.start - size))
    if window.end < window.chars and forward.button(
            f"Next {min(size, window.chars - window.end):,} characters", key="annotate_next_piece"):
        go(item.doc, window.end)
st.html(f'<pre class="annotate-text" style="{TEXT_STYLE}">{highlight_html(window.text, ())}</pre>')

note = st.text_input("Note (optional)", key=f"annotate_note_{task.name}_{item.position}_{round_}",
                     max_chars=MAX_NOTE)
scheme = task.scheme
given = None
if len(scheme.values) > MAX_BUTTONS:  # a long scale: a slider and one button
    chosen_value = st.select_slider("Label", scheme.values, key=f"annotate_value_{item.position}_{round_}")
    if st.button("Save the label", key="label_save", type="primary"):
        given = chosen_value
keys, back = st.columns([6, 1], vertical_alignment="top")
with keys:  # the label buttons and keys, one press at a time (see pages/_label_keys.py)
    press = label_keys(task.name, annotator, round_, item.doc, actions)
went_back = back.button("Back", key="annotate_back", shortcut="b", disabled=previous is None, icon=":material/undo:",
                        use_container_width=True)

try:  # every press of the label keys is answered (saved, or why not) before the page moves on
    if given is not None:  # the slider's Save
        label = add_label(index, task, item.doc, annotator, given, note=note or None, round=round_)
        st.session_state.annotate_saved = f"Saved: {label.label} for doc {item.doc} ({task.name})"
        if press is not None:
            answer(press.seq, False, f"not saved: the slider's label {label.label} was saved at the same moment")
        go(None)
    if press is not None and press.action == "label":
        label = add_label(index, task, item.doc, annotator, press.value, note=note or None, round=round_)
        st.session_state.annotate_saved = f"Saved: {label.label} for doc {item.doc} ({task.name})"
        answer(press.seq, True, f"saved {label.label} for doc {item.doc}")
        go(None)
    if press is not None and press.action == "skip":
        skip(index, task, item.doc, annotator, note=note or None, round=round_)
        st.session_state.annotate_saved = f"Skipped doc {item.doc}: it is offered again at the end"
        answer(press.seq, True, f"skipped doc {item.doc}")
        go(None)
except InspectorError as exc:
    if press is None:
        show_error(exc)
        st.stop()
    answer(press.seq, False, f"not saved: {exc}")  # shown beside the press, and above the page once it reruns
    st.session_state.annotate_failed = str(exc)
    st.rerun()
if went_back:
    go(previous.doc)
