// Pages that re-render a server fragment every few seconds, adjustable and pausable: the fleet dashboard
// and the Locks page. One loop for both: the root carries data-refresh, data-live-url and data-interval
// (seconds); the controls are #mop-refresh-interval, #mop-refresh-pause and #mop-refresh-state.
// The server renders (and escapes) the HTML; this only swaps it in, keeping open <details data-key> open.
(function () {
  "use strict";
  const root = document.querySelector("[data-refresh][data-live-url]");
  if (!root) return;
  const select = document.getElementById("mop-refresh-interval");
  const pause = document.getElementById("mop-refresh-pause");
  const state = document.getElementById("mop-refresh-state");
  const initial = parseInt(root.dataset.interval || "30", 10) || 30;
  let seconds = initial;
  let paused = false;
  let timer = null;
  let inFlight = false;

  function say(text) { if (state) state.textContent = text; }

  function schedule() {
    clearTimeout(timer);
    if (!paused) timer = setTimeout(refresh, seconds * 1000);
  }

  function swap(data) {
    const open = new Set(Array.from(root.querySelectorAll("details[open]")).map((d) => d.dataset.key));
    root.innerHTML = data.html;
    root.querySelectorAll("details").forEach((d) => { if (open.has(d.dataset.key)) d.open = true; });
    if ("taken_at" in data) root.dataset.takenAt = data.taken_at || "";
    say((data.ok === false ? "error at " : "updated ") + new Date().toLocaleTimeString());
  }

  function refresh() {
    if (paused || inFlight) return;
    inFlight = true;
    fetch(root.dataset.liveUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
      .then(swap)
      .catch((err) => say("refresh failed (" + err.message + "); retrying"))
      .finally(() => { inFlight = false; schedule(); });
  }

  if (select) {
    select.addEventListener("change", () => { seconds = parseInt(select.value, 10) || initial; schedule(); });
  }
  if (pause) {
    pause.addEventListener("click", () => {
      paused = !paused;
      pause.textContent = paused ? "Resume" : "Pause";
      pause.setAttribute("aria-pressed", String(paused));
      say(paused ? "paused" : "live");
      if (paused) clearTimeout(timer); else refresh();
    });
  }
  schedule();
})();
