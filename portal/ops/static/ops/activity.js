// Activity page: re-render the snapshot fragment every few seconds (adjustable, pausable).
// The server renders (and escapes) the HTML; this only swaps it in, keeping open <details> open.
(function () {
  "use strict";
  const root = document.getElementById("mop-activity");
  if (!root || !root.dataset.liveUrl) return;
  const select = document.getElementById("mop-refresh-interval");
  const pause = document.getElementById("mop-refresh-pause");
  const state = document.getElementById("mop-refresh-state");
  let seconds = parseInt(root.dataset.interval || "5", 10);
  let paused = false;
  let timer = null;
  let inFlight = false;

  function say(text) { if (state) state.textContent = text; }

  function schedule() {
    clearTimeout(timer);
    if (!paused) timer = setTimeout(refresh, seconds * 1000);
  }

  function refresh() {
    if (paused || inFlight) return;
    inFlight = true;
    fetch(root.dataset.liveUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
      .then((data) => {
        const open = new Set(Array.from(root.querySelectorAll("details[open]")).map((d) => d.dataset.key));
        root.innerHTML = data.html;
        root.querySelectorAll("details").forEach((d) => { if (open.has(d.dataset.key)) d.open = true; });
        root.dataset.takenAt = data.taken_at || "";
        say((data.ok ? "updated " : "error at ") + new Date().toLocaleTimeString());
      })
      .catch((err) => say("refresh failed (" + err.message + "); retrying"))
      .finally(() => { inFlight = false; schedule(); });
  }

  if (select) {
    select.addEventListener("change", () => {
      seconds = parseInt(select.value, 10) || 5;
      schedule();
    });
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
