// Locks page: load the full session list and locks by relation, refresh with the page's interval and
// pause button, and sort (click a header) and filter (type) the session list in the browser.
(function () {
  "use strict";
  const root = document.getElementById("mop-sessions-locks");
  if (!root || !root.dataset.url) return;
  const filter = document.getElementById("mop-sessions-filter");
  const select = document.getElementById("mop-refresh-interval");
  const pause = document.getElementById("mop-refresh-pause");
  let sortCol = -1, sortDir = 1, timer = null;

  function apply() {
    const table = document.getElementById("mop-all-sessions");
    if (!table) return;
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).filter((r) => r.dataset.pid);
    const text = (filter && filter.value || "").toLowerCase();
    rows.forEach((r) => { r.hidden = text && !r.innerText.toLowerCase().includes(text); });
    if (sortCol >= 0) {
      const kind = table.tHead.rows[0].cells[sortCol].dataset.sort;
      const key = (r) => { const c = r.cells[sortCol]; return kind === "num" ? parseFloat(c.dataset.v || c.innerText) || 0 : c.innerText.toLowerCase(); };
      rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * sortDir).forEach((r) => body.appendChild(r));
    }
    Array.from(table.tHead.rows[0].cells).forEach((th, i) => {
      th.setAttribute("aria-sort", i === sortCol ? (sortDir > 0 ? "ascending" : "descending") : "none");
      th.onclick = () => { sortDir = i === sortCol ? -sortDir : 1; sortCol = i; apply(); };
    });
  }

  function paused() { return pause && pause.getAttribute("aria-pressed") === "true"; }

  function load() {
    clearTimeout(timer);
    fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
      .then((data) => { root.innerHTML = data.html; root.dataset.loaded = "yes"; apply(); })
      .catch((err) => { root.dataset.loaded = "error"; root.textContent = "Could not load the sessions: " + err.message; })
      .finally(schedule);
  }

  function schedule() {
    const seconds = parseInt((select && select.value) || "5", 10) || 5;
    timer = setTimeout(() => (paused() ? schedule() : load()), seconds * 1000);
  }

  if (filter) filter.addEventListener("input", apply);
  load();
})();
