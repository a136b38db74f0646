// Fleet dashboard: re-render the fleet fragment every few seconds (adjustable, pausable), as the activity page does.
// The server renders (and escapes) the HTML; this only swaps it in.
(function () {
  "use strict";
  const root = document.getElementById("mop-fleet");
  if (!root || !root.dataset.liveUrl) return;
  const select = document.getElementById("mop-refresh-interval");
  const pause = document.getElementById("mop-refresh-pause");
  const state = document.getElementById("mop-refresh-state");
  let seconds = parseInt(root.dataset.interval || "30", 10);
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
        root.innerHTML = data.html;
        say("updated " + new Date().toLocaleTimeString());
      })
      .catch((err) => say("refresh failed (" + err.message + "); retrying"))
      .finally(() => { inFlight = false; schedule(); });
  }

  if (select) {
    select.addEventListener("change", () => { seconds = parseInt(select.value, 10) || 30; schedule(); });
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
