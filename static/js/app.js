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
    const banner = document.getElementById("hot-banner");
    if (banner && fresh.length) {
      const text = fresh.length > 1 ? banner.dataset.msgMany : banner.dataset.msgOne;
      banner.querySelector(".hot-banner-text").textContent = text.replace("COUNT", String(fresh.length));
      banner.hidden = false;
    }
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

// A dismissible notice: the button names the element it hides.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-dismiss]");
  const box = button && document.getElementById(button.dataset.dismiss);
  if (box) box.hidden = true;
});

// Queue shortcuts: j/k move, c claims, o opens, ? shows the help. The selection is kept by lead id across refreshes.
let selectedLead = null;
const queueRows = () => Array.from(document.querySelectorAll("#queue-table tbody tr[id^='lead-']"));
const markSelected = () => {
  for (const row of queueRows()) {
    const on = row.id === selectedLead;
    row.classList.toggle("kb-selected", on);
    if (on) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
  }
};
document.addEventListener("htmx:load", markSelected);
const toggleHelp = () => {
  const help = document.getElementById("shortcut-help");
  if (!help) return;
  if (help.open) help.close(); else help.showModal();
};
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-shortcut-help]")) toggleHelp();
});
document.addEventListener("keydown", (event) => {
  if (!document.getElementById("queue-table") || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest("input, select, textarea, [contenteditable]")) return;
  if (event.key === "?") { event.preventDefault(); toggleHelp(); return; }
  if (document.getElementById("shortcut-help")?.open) return;
  const rows = queueRows();
  if (!rows.length) return;
  let index = rows.findIndex((row) => row.id === selectedLead);
  if (event.key === "j" || event.key === "k") {
    index = event.key === "j" ? Math.min(index + 1, rows.length - 1) : Math.max(index - 1, 0);
    selectedLead = rows[index].id;
    markSelected();
    rows[index].scrollIntoView({block: "nearest"});
  } else if (index >= 0 && event.key === "c") {
    rows[index].querySelector("button.primary[hx-post*='/claim/']")?.click();
  } else if (index >= 0 && event.key === "o") {
    const link = rows[index].querySelector("a.who-name");
    if (link) window.location.assign(link.href);
  }
});
