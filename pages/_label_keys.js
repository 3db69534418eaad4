// The Annotate page's label keys and buttons (see pages/_label_keys.py for the contract).
// One queue per browser tab, kept on `window` so that it outlives the component's remounts between documents.
const Q = (window.__inspectorLabelKeys ??= {
  view: null, send: null, root: null, path: null, pending: null, log: [], count: 0, saved: 0, refused: 0,
});
const MAX_LOG = 1000;

function isField(node) {  // a key pressed here is typing, never a label
  return node instanceof HTMLElement
    && (node.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(node.tagName));
}

function leftOnEnter(node) {  // a one-line text box (the name, the note): Enter has given its value, so leave it
  return node.tagName === "INPUT" && node.getAttribute("role") !== "combobox"
    && ["text", "search", "email", "number", "url", "tel", ""].includes(node.getAttribute("type") ?? "");
}

function keysOn() {
  return !isField(document.activeElement);
}

function entry(key, what, state, text, sent = { doc: null, seq: null, session: null }) {
  Q.log.push({ n: ++Q.count, key, what, state, text, doc: sent.doc, seq: sent.seq, session: sent.session });
  if (state === "refused") Q.refused += 1;
  if (Q.log.length > MAX_LOG) Q.log.shift();
}

function press(action, key, repeated) {
  const view = Q.view;
  const what = action ? action.name : key;
  if (repeated) return entry(key, what, "refused", "not counted: a held key repeats; press once per label");
  if (view.doc === null) return entry(key, what, "refused", "not counted: there is no document to label here");
  if (Q.pending) {
    const p = Q.pending;
    return entry(key, what, "refused",
      `not counted: ${p.what} for doc ${p.doc} was still being saved; press again once the next document shows`);
  }
  const p = { seq: view.next, session: view.session, task: view.task, annotator: view.annotator, round: view.round,
              doc: view.doc, action: action.action, value: action.value, key, what: action.name };
  Q.pending = p;
  entry(key, p.what, "saving", `saving ${p.what} for doc ${p.doc}…`, p);
  Q.send("press", p);
}

function onKey(event) {
  if (!Q.view || location.pathname !== Q.path) return;
  const target = event.composedPath()[0];
  if (isField(target)) { // typing a name or a note: the field's key, never a label
    if ((event.key === "Enter" || event.key === "Escape") && leftOnEnter(target)) {
      setTimeout(() => target.blur(), 0); // after Streamlit has taken the value on this Enter
    }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : "";
  const action = key && Q.view.actions.find((a) => a.key === key);
  if (!action) return;
  event.preventDefault();
  if (Q.root) press(action, key, event.repeat);
  else entry(key, action.name, "refused", "not counted: the page was redrawing; press again"); // shown once it is back
  render();
}

function settle(view) {
  const outcomes = new Map(view.outcomes.map(([seq, ok, text]) => [seq, [ok, text]]));
  for (const e of Q.log) {
    if (e.state !== "saving") continue;
    if (e.session !== view.session) conclude(e, false, "not saved: the connection to the app was lost first");
    else if (outcomes.has(e.seq)) conclude(e, ...outcomes.get(e.seq));
  }
  if (Q.pending && (Q.pending.session !== view.session || view.acked >= Q.pending.seq)) Q.pending = null;
  else if (Q.pending) Q.send("press", Q.pending); // the page may have lost it in a rerun: said again, saved once
}

function conclude(e, ok, text) {
  e.state = ok ? "saved" : "failed";
  e.text = text;
  Q[ok ? "saved" : "refused"] += 1;
}

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function render() {
  const view = Q.view;
  const root = Q.root;
  if (!view || !root) return;
  const on = keysOn();
  const box = el("div", { class: "label-keys", "data-busy": Q.pending ? "true" : "false", "data-keys": keysState(on) });
  const buttons = el("div", { class: "buttons" });
  for (const action of view.actions) {
    const button = el("button", { type: "button", class: action.action, "data-key": action.key }, action.title);
    if (action.key) button.append(" ", el("kbd", {}, action.key));
    button.disabled = Q.pending !== null || view.doc === null;
    button.addEventListener("click", () => { press(action, "click", false); render(); });
    buttons.append(button);
  }
  const last = Q.log[Q.log.length - 1];
  const shown = el("div", { class: "status", role: "status", "aria-live": "polite" }, statusText(on));
  const details = el("details", { class: "presses" });
  details.open = Q.detailsOpen ?? false;
  details.addEventListener("toggle", () => { Q.detailsOpen = details.open; });
  details.append(el("summary", {}, `Presses this session: ${Q.count} (${Q.saved} saved, ${Q.refused} not counted)`));
  const list = el("ol", { reversed: "" });
  for (const e of Q.log.slice().reverse()) {
    const item = el("li", { "data-state": e.state, "data-key": e.key, "data-n": String(e.n) }, `${e.key}: ${e.text}`);
    if (e.doc !== null) item.setAttribute("data-doc", String(e.doc));
    list.append(item);
  }
  details.append(list);
  box.append(buttons, shown);
  if (last) box.append(el("div", { class: `last ${last.state}` }, `Last press ${last.key}: ${last.text}`));
  box.append(details);
  slotOf(root).replaceChildren(box);
  Q.box = box;
  Q.status = shown;
}

function statusText(on) {
  const view = Q.view;
  if (Q.pending) return `Saving ${Q.pending.what} for doc ${Q.pending.doc}… (keys pressed now are not counted)`;
  if (!view.actions.length) return "Keys: none until a task and your name are given (Enter leaves the name box)";
  if (view.doc === null) return "Nothing to label here.";
  if (!on) return "Keys off while a field has focus: press Enter or click outside it to label with the keys";
  return `Keys on: ${view.actions.filter((a) => a.key).map((a) => `${a.key} = ${a.name}`).join(", ")}`;
}

function showKeys() {  // focus moved: the status only (redrawing the buttons now would lose a click on one)
  if (!Q.box || !Q.box.isConnected) return;
  const on = keysOn();
  if (Q.box.dataset.keys === keysState(on)) return;
  Q.box.dataset.keys = keysState(on);
  Q.status.textContent = statusText(on);
}

function keysState(on) {  // on, off (a field has focus), or none (no buttons yet)
  return !Q.view.actions.length ? "none" : on ? "on" : "off";
}

function slotOf(root) {  // what this component draws in: a child of its root, whose other children are its CSS
  if (!root.labelKeysSlot) root.append((root.labelKeysSlot = el("div", { class: "label-keys-slot" })));
  return root.labelKeysSlot;
}

export default function (component) {
  const { data, setStateValue, parentElement } = component;
  if (Q.root && Q.root !== parentElement) slotOf(Q.root).replaceChildren(); // one set of buttons on the page
  Q.view = data;
  Q.send = setStateValue;
  Q.root = parentElement;
  Q.path = location.pathname;
  settle(data);
  if (!Q.listening) {
    document.addEventListener("keydown", onKey, true);
    document.addEventListener("focusin", showKeys, true); // "keys on" or "off" as focus moves into or out of a field
    document.addEventListener("focusout", () => setTimeout(showKeys, 0), true);
    Q.listening = true;
  }
  render();
  return () => {  // unmounted: between two documents the page may draw it afresh; keys are refused until then
    if (Q.root === parentElement) Q.root = null;
  };
}
