"""The Annotate page's label buttons and keys: a small browser component, so that no press is ever lost unseen.

Streamlit reruns the page to save a label and show the next document. A key pressed (or a button clicked) during
that rerun was merged with the one before, or given to a document the annotator had not seen yet, without a word.
Here every press goes through one queue in the browser tab (`_label_keys.js`):

- a press is accepted only while the page shows a document and no other press is being saved; it goes to the
  server with that document's number and a sequence number, and the buttons say "saving…" until the page has saved
  it and shows the next document;
- a press in the meantime (or a held key's repeats, or one on a page with nothing to label) is refused on the spot;
- the server saves each accepted press once (by its sequence number), only on the document it was given for, and
  answers it (saved, or why not).

Every press is listed on the page with its outcome: each one listed as saved is in the labels, in the order pressed;
every other one is listed as not counted.

Keys never type into a field, nor does typing in a field label anything: a key pressed while an input, text area,
select or editable element has focus is the field's, and Enter (or Escape) in a one-line field leaves it once
Streamlit has taken its value (the name box, the note), so the next key labels. The status line says which: "Keys
on", or "Keys off" while a field has focus.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

MAX_ANSWERS = 50  # outcomes the browser is sent again on each run (it keeps its own list of every press)

_CSS = """
.label-keys { font-family: var(--st-font); color: var(--st-text-color); }
.buttons { display: flex; flex-wrap: wrap; gap: 0.5rem; }
button { flex: 1 1 6rem; padding: 0.45rem 0.8rem; border-radius: var(--st-button-radius, 0.5rem); cursor: pointer;
         font: inherit; border: 1px solid var(--st-primary-color); background: var(--st-primary-color); color: white; }
button.skip { background: transparent; color: var(--st-text-color); border-color: var(--st-border-color); }
button:disabled { opacity: 0.45; cursor: progress; }
kbd { font-family: var(--st-code-font); font-size: 0.8em; opacity: 0.8; }
.status { margin-top: 0.4rem; font-size: 0.9em; }
[data-busy="true"] .status { font-weight: 600; }
.last { font-size: 0.85em; margin-top: 0.2rem; }
.last.refused, .last.failed { color: var(--st-red-color); font-weight: 600; }
.presses { font-size: 0.8em; margin-top: 0.3rem; }
.presses li[data-state="refused"], .presses li[data-state="failed"] { color: var(--st-red-color); }
"""

_COMPONENT = st.components.v2.component(
    "inspector_label_keys", js=Path(__file__).with_name("_label_keys.js").read_text(encoding="utf-8"), css=_CSS,
)


@dataclass(frozen=True)
class Press:
    """An accepted press, for the document shown: `action` is "label" (with `value`) or "skip"."""

    seq: int
    action: str
    value: int | None
    name: str


def action(kind: str, value: int | None, name: str, key: str) -> dict:
    """One button of the component: what it does and its key ("" for none)."""
    return {"action": kind, "value": value, "name": name, "title": name.capitalize(), "key": key}


def take_press(task: str, annotator: str, round_: int, doc: int | None, actions: list[dict]) -> Press | None:
    """The press the browser has sent and this session has not handled yet (each press once), read before the page
    draws anything, so that a press is saved and the next document drawn in one run. `doc` is the document the
    page showed (None: nothing to label); a press given for another view than this one is answered as not saved."""
    state = st.session_state
    session, acked = _session()
    sent = (state.get("label_keys") or {}).get("press")
    seq = sent.get("seq") if isinstance(sent, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool) or seq <= acked or sent.get("session") != session:
        return None
    state.label_keys_acked = seq  # before anything else: whatever follows, this press is handled once
    chosen = next((a for a in actions if (a["action"], a["value"]) == (sent.get("action"), sent.get("value"))), None)
    if doc is None or chosen is None or (sent.get("task"), sent.get("annotator"), sent.get("round"),
                                         sent.get("doc")) != (task, annotator, round_, doc):
        answer(seq, False, f"not saved: the page had moved on from the document it was pressed on (doc "
                           f"{str(sent.get('doc'))[:20]}) when it arrived")
        return None
    return Press(seq, chosen["action"], chosen["value"], chosen["name"])


def label_keys(task: str, annotator: str, round_: int, doc: int | None, actions: list[dict]) -> None:
    """Show `actions` as buttons with their keys for document `doc` (None: nothing to label here), with the
    outcome of every press answered so far. A press reruns the page's fragment, which reads it with `take_press`."""
    session, acked = _session()
    view = {"session": session, "task": task, "annotator": annotator, "round": round_, "doc": doc, "actions": actions,
            "acked": acked, "next": acked + 1,
            "outcomes": st.session_state.setdefault("label_keys_answers", [])[-MAX_ANSWERS:]}
    _COMPONENT(key="label_keys", data=view, default={"press": None}, on_press_change=lambda: None)


def _session() -> tuple[str, int]:
    """This session's token (a press from before a reconnect is not ours) and the last press it handled."""
    state = st.session_state
    return state.setdefault("label_keys_session", secrets.token_hex(8)), state.setdefault("label_keys_acked", 0)


def answer(seq: int, ok: bool, text: str) -> None:
    """The outcome of press `seq`, shown beside it on the next run."""
    answers = st.session_state.setdefault("label_keys_answers", [])
    answers.append([seq, ok, text])
    del answers[:-MAX_ANSWERS]
