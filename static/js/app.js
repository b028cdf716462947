// Alignment's own script: small behaviours that CSP forbids inline.
document.addEventListener("click", (event) => {
  const el = event.target.closest("[data-confirm]");
  if (el && !window.confirm(el.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// Confirm for htmx requests too (hx-confirm is built into htmx, this covers plain forms).
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  const box = document.getElementById("htmx-error");
  if (box) {
    box.textContent = status === 403 ? box.dataset.msgForbidden : box.dataset.msgOther.replace("STATUS", String(status));
    box.hidden = false;
  }
});

// Keyboard flow: when an inline edit form arrives, put the cursor in its first field.
document.addEventListener("htmx:load", (event) => {
  const root = event.detail.elt;
  const form = root.matches("form.rule-form, form.part-form") ? root : root.querySelector("form.rule-form, form.part-form");
  const field = form && (form.querySelector(".has-error input, .has-error select") || form.querySelector("input:not([type=hidden]), select, textarea"));
  if (field) field.focus();
});

// The queue refreshes itself; announce hot leads that were not there before, without stealing focus.
let knownHot = null;
document.addEventListener("htmx:load", (event) => {
  const table = event.detail.elt.id === "queue-table" ? event.detail.elt : event.detail.elt.querySelector && event.detail.elt.querySelector("#queue-table");
  if (!table) return;
  const ids = (table.dataset.hotIds || "").split(",").filter(Boolean);
  if (knownHot !== null) {
    const fresh = ids.filter((id) => !knownHot.has(id));
    const box = document.getElementById("queue-announcer");
    if (box && fresh.length) box.textContent = (fresh.length > 1 ? box.dataset.msgMany : box.dataset.msgOne).replace("COUNT", String(fresh.length));
  }
  knownHot = new Set(ids);
});

// Never refresh under the rep's hands: skip a poll while the tab is hidden or a form in the table is open.
document.addEventListener("htmx:beforeRequest", (event) => {
  const elt = event.detail.elt;
  if (elt.dataset && elt.dataset.poll === "true" && event.detail.requestConfig.triggeringEvent === undefined) {
    if (document.visibilityState !== "visible" || elt.querySelector("form, .editing")) event.preventDefault();
  }
});

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
