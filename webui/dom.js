// el(tag, props, ...children): one element, for every screen.
//   class, text         className, textContent
//   dataset             an object merged into dataset
//   on                  {event: handler, ...}; or onclick/oninput/...: a handler
//   role, aria*, a-b    attributes (ariaLabel -> aria-label; a hyphenated name
//                       with false is left out, with true is set empty)
//   anything else       the element's property when it has one (type, value,
//                       checked, disabled, style, width...), else an attribute
// null/undefined props and children are skipped.

export function el(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "role" || /^aria[A-Z]/.test(k)) e.setAttribute(k.replace(/^aria([A-Z])/, (m, c) => "aria-" + c.toLowerCase()), v);
    else if (k.includes("-")) { if (v !== false) e.setAttribute(k, v === true ? "" : v); }
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids.filter((x) => x != null));
  return e;
}

/**
 * An in-page confirmation with big buttons (tablets; never window.confirm).
 * Resolves true when `ok` is chosen. Cancel has the focus first.
 */
export function confirmDialog({ title, text, ok = "OK", danger = false }) {
  return new Promise((resolve) => {
    const done = (v) => { dlg.remove(); resolve(v); };
    const cancel = el("button", { type: "button", class: "confirm-cancel", onclick: () => done(false) }, "Cancel");
    const dlg = el("div", { class: "modal", role: "dialog", "aria-modal": "true", "aria-label": title },
      el("div", { class: "modalbox" }, el("h2", { text: title }), el("p", { text }),
        el("div", { class: "modalbtns" }, cancel,
          el("button", { type: "button", class: danger ? "confirm-ok danger" : "confirm-ok primary", onclick: () => done(true) }, ok))));
    dlg.addEventListener("keydown", (e) => { if (e.key === "Escape") done(false); });
    document.body.append(dlg);
    cancel.focus();
  });
}
