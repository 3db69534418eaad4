"""Annotate: label a task's documents one at a time, with one key per label.

Pick a task (?task=NAME) and give your name (?annotator=NAME); the page offers the first item you have neither
labelled nor skipped (so it resumes where you left off), its document a window at a time, the guideline, and the
label buttons (keep = k, drop = d, or the digits of an ordinal scale), which take one press at a time and list
what came of each (pages/_label_keys.py). Every label is committed as it is given. ?doc=N opens that document's item
(to relabel or adjudicate); ?round=2 is a second pass over the first pass's disagreements; ?at=OFFSET is the first
character of the window shown.

A task made blind (`Task.blind`, the lead's choice; the default) keeps its score and the columns it names from the
annotator, here and on the Document page this page links to (the link carries ?task=): the item is known by its
number in the task, not by its id (an id such as `cc-0042` names its source) nor its source file. A toggle reveals
them for one item; it is off again on the next.

Speed: the item, its keys and the progress are one fragment. A press reruns only it: the press is read first,
saved (committed) and the next item drawn in that one run; the next items' windows are read ahead
(pages/_read_ahead.py).
"""
import re

import streamlit as st

from inspector import (
    InspectorError,
    InvalidQuery,
    add_label,
    annotator_view,
    bounded_text,
    check_annotator,
    current_labels,
    get_task,
    highlight_html,
    next_item,
    skip,
    tasks,
)
from pages._label_keys import action, answer, label_keys, take_press
from pages._read_ahead import AHEAD, window_cache
from pages._shared import PAGES, SETTINGS, current_index, md, show_error, stop_on_error, stop_without_tasks
from pages._urls import url_int

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


def url_place(given) -> tuple[int | None, int]:
    """The item's document (?doc=; None: the next unlabelled item) and the first character shown (?at=)."""
    doc = None if given.get("doc") in (None, "") else url_int(given.get("doc"), "doc", 0, max(0, index.n_documents - 1))
    return doc, url_int(given.get("at"), "at (the first character shown)", 0, 10**15, default=0)


# -- what the URL says, checked before anything is read --------------------------------------------------------------
params = st.query_params
all_tasks = tasks(index)
names = [t.name for t in all_tasks]
with stop_on_error():
    url_task = bounded_text(params.get("task"), "task", 64)
    if url_task and url_task not in names:
        raise InvalidQuery(f"there is no task {url_task!r} at this index; create one on the Sample page")
    url_annotator = params.get("annotator")
    if url_annotator is not None:
        bounded_text(url_annotator, "annotator", 64)
        check_annotator(url_annotator)
    url_place(params)
    url_round = url_int(params.get("round"), "round", 1, 2, default=1)
    task = get_task(index, url_task) if url_task else None
    if url_round == 2 and task is not None and not task.second_pass:
        raise InvalidQuery(f"task {task.name!r} has no second pass: round must be 1")

stop_without_tasks(names)

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
    with stop_on_error():
        check_annotator(annotator)
    if annotator != url_annotator:
        st.session_state.annotator_seen = annotator
        st.query_params["annotator"] = annotator

if task is None or not annotator:
    st.info("Choose a task and give your name to start labelling.")
    label_keys(url_task or "", annotator, url_round, None, [])  # no buttons yet: Enter leaves the name box
    st.stop()

# -- the task: guideline and round (the item below is a fragment: a label press reruns only it) ---------------------
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
    hidden = f" · hidden from you: {', '.join(task.hidden) or 'the score'}" if task.blind else ""
    st.caption(md(f"Labels: {', '.join(task.scheme.names)} · {task.items:,} items{hidden}"))


def label_actions(scheme) -> list[dict]:
    """The buttons of the label keys: one per label (keys k and d, or an ordinal scale's digits) unless the scale
    is too long for buttons (a slider then), and Skip (s)."""
    buttons = []
    if len(scheme.values) <= MAX_BUTTONS:
        for value, name in zip(scheme.values, scheme.names):
            key = (name if len(name) == 1 else "") if scheme.ordinal else {"keep": "k", "drop": "d"}[name]
            buttons.append(action("label", value, name, key))
    return buttons + [action("skip", None, "skip", "s")]


def item_shown(task, round_: int, items, doc: int | None, following):
    """The item ?doc= names (an error when it is not one of `items`), else `following`: the first one this
    annotator has not done (None: all done)."""
    if doc is None:
        return following
    item = next((i for i in items if i.doc == doc), None)
    if item is None:
        raise InvalidQuery(f"document {doc} is not an item of task {task.name}" + (" in the second pass"
                                                                                   if round_ == 2 else ""))
    return item


def show(doc: int | None, start: int = 0) -> None:
    """Show another item (None: the next unlabelled one), or another window of this one: a button's callback, so
    the URL says where before the fragment draws it."""
    st.query_params.from_dict({k: v for k, v in st.query_params.items() if k not in ("doc", "at")}
                              | ({"doc": str(doc)} if doc is not None else {}) | ({"at": str(start)} if start else {}))


def save(task, annotator: str, round_: int, item, kind: str, value, note: str | None) -> tuple[str, str]:
    """Label (or skip) `item`, committed before the next item is drawn; what was done, in words: beside the press,
    and in the confirmation (a toast: the page's layout stays put under the keys)."""
    if kind == "skip":
        skip(index, task, item.doc, annotator, note=note, round=round_)
        return f"skipped doc {item.doc}", f"Skipped doc {item.doc}: it is offered again at the end"
    label = add_label(index, task, item.doc, annotator, value, note=note, round=round_)
    return f"saved {label.label} for doc {item.doc}", f"Saved: {label.label} for doc {item.doc} ({task.name})"


@st.fragment
def labelling(task, annotator: str, round_: int) -> None:
    """Progress, the item, its label keys. A press is read first, saved, and the next item drawn in the same run."""
    saved = st.session_state.pop("annotate_saved", None)  # the slider's label, saved on the last run
    if saved:
        st.toast(md(saved), icon=":material/check:")
    actions = label_actions(task.scheme)
    try:
        doc, at = url_place(st.query_params)
        done, items, following = annotator_view(index, task, annotator, round=round_)
        item = item_shown(task, round_, items, doc, following)
    except InspectorError as exc:
        show_error(exc)
        return
    press = take_press(task.name, annotator, round_, None if item is None else item.doc, actions)
    if press is not None:
        try:
            note = st.session_state.get(note_key(task, item, round_)) or None
            said, confirmed = save(task, annotator, round_, item, press.action, press.value, note)
        except InspectorError as exc:
            answer(press.seq, False, f"not saved: {exc}")  # shown beside the press, and here
            show_error(exc)
        else:
            answer(press.seq, True, said)
            st.toast(md(confirmed), icon=":material/check:")
            for name in ("doc", "at"):  # on to the next unlabelled item: this URL names it
                if name in st.query_params:
                    del st.query_params[name]
            doc, at = None, 0
            done, items, item = annotator_view(index, task, annotator, round=round_)
    position = items.index(item) if item is not None else len(items)
    previous = items[position - 1] if position > 0 else None
    if item is None:
        show_progress(done)
        all_done(task, annotator, round_, done, actions, previous)
        return
    try:
        window = window_cache().window(index, item.doc, at, size)
    except InspectorError as exc:
        show_error(exc)
        return
    top = st.container()  # filled after the keys below it: they take presses again as soon as the next item shows
    keys, back = st.columns([6, 1], vertical_alignment="top")
    with keys:  # the label buttons and keys, one press at a time (see pages/_label_keys.py)
        label_keys(task.name, annotator, round_, item.doc, actions)
    back.button("Back", key="annotate_back", shortcut="b", disabled=previous is None, icon=":material/undo:",
                use_container_width=True, on_click=show, args=(None if previous is None else previous.doc,))
    with top:
        show_progress(done)
        show_item(task, annotator, round_, item, window, relabel=doc is not None)
    window_cache().read_ahead(index, [i.doc for i in items[position + 1: position + 1 + AHEAD]], size)


def show_progress(done) -> None:
    st.progress(done.labelled / done.items if done.items else 1.0,
                text=f"{done.labelled:,} of {done.items:,} labelled · {done.skipped:,} skipped · "
                     f"{done.remaining:,} to go")
    if done.unavailable:
        st.warning(f"{done.unavailable:,} item(s) of this task changed or vanished after a rebuild of the index: they "
                   "are not offered.")


def all_done(task, annotator: str, round_: int, done, actions: list[dict], previous) -> None:
    st.success(f"All {done.items:,} items of this round are done. Thank you!" if not done.skipped else
               f"Every item is labelled or skipped: {done.skipped:,} skipped.")
    label_keys(task.name, annotator, round_, None, actions)  # the last press's outcome; a press now is refused
    c = st.columns(3)
    if done.skipped:
        skipped = next_item(index, task, annotator, round=round_, include_skipped=True)
        c[0].button("Label the skipped items", key="annotate_skipped", on_click=show, args=(skipped.doc,))
    if previous is not None:
        c[1].button("Back", key="annotate_back", shortcut="b", icon=":material/undo:", on_click=show,
                    args=(previous.doc,))
    st.page_link(PAGES["agreement"], label="See the agreement", icon=":material/balance:",
                 query_params={"task": task.name, "annotator": annotator})  # its links come back under this name


def note_key(task, item, round_: int) -> str:
    return f"annotate_note_{task.name}_{item.position}_{round_}"


def show_item(task, annotator: str, round_: int, item, window, relabel: bool) -> None:
    """One item: what it is (no id or source file when the task is blind), the score unless hidden (revealed for
    this item only on request), the text a window at a time, a note; with `relabel` (an item the URL names, not the
    next one to do) the label this annotator gave it, if any."""
    st.subheader(f"Item {item.position + 1:,} of {task.items:,}")
    facts = [f"doc {window.doc}"] + ([] if task.blind else [f"id {window.id}"])
    facts += [f"{window.tokens:,} tokens", f"{window.chars:,} characters"]
    if not task.hide_score and item.score is not None:
        facts.append(f"{task.score_name or 'score'}: {item.score}")
    if item.status == "moved":
        facts.append("moved since the task was made (same text)")
    st.text(" · ".join(facts))
    mine = relabel and {(label.position, label.round): label for label in current_labels(index, task)
                        if label.annotator == annotator}.get((item.position, round_))
    if mine:
        st.info(md(f"You labelled this item {mine.label}" + (f" (note: {mine.note})" if mine.note else "")
                   + ": a new label replaces it, the old one stays in the history."))
    if task.blind and st.toggle("Reveal what is hidden, for this item only",
                                key=f"annotate_reveal_{task.name}_{item.position}_{round_}",
                                help="Hidden so that it does not anchor your label; hidden again on the next item"):
        revealed = {"id": window.id, "file": window.file}
        if task.hide_score:
            revealed[task.score_name or "score"] = item.score
        revealed |= {k: v for k, v in window.metadata.items() if k in task.hidden}
        st.text(" · ".join(f"{k}: {'–' if v is None else v}" for k, v in revealed.items()))
    if window.chars > size or window.start:
        st.caption(f"Characters {window.start:,}–{window.end:,} of {window.chars:,}")
        back, forward = st.columns(2)
        if window.start:
            back.button(f"Previous {size:,} characters", key="annotate_previous_piece", on_click=show,
                        args=(item.doc, max(0, window.start - size)))
        if window.end < window.chars:
            forward.button(f"Next {min(size, window.chars - window.end):,} characters", key="annotate_next_piece",
                           on_click=show, args=(item.doc, window.end))
    st.html(f'<pre class="annotate-text" style="{TEXT_STYLE}">{highlight_html(window.text, ())}</pre>')
    st.page_link(PAGES["document"], label="Open in the Document page", icon=":material/description:",
                 query_params={"doc": str(item.doc), "task": task.name} | ({"at": str(window.start)}
                                                                           if window.start else {}))
    note = st.text_input("Note (optional)", key=note_key(task, item, round_), max_chars=MAX_NOTE)
    scheme = task.scheme
    if len(scheme.values) > MAX_BUTTONS:  # a long scale: a slider and one button
        chosen_value = st.select_slider("Label", scheme.values, key=f"annotate_value_{item.position}_{round_}")
        if st.button("Save the label", key="label_save", type="primary"):
            try:
                _, confirmed = save(task, annotator, round_, item, "label", chosen_value, note or None)
            except InspectorError as exc:
                show_error(exc)
                return
            st.session_state.annotate_saved = confirmed
            show(None)
            st.rerun()


labelling(task, annotator, round_)
