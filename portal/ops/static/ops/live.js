// What every live run page shares (run_live.js, data_live.js): poll the run's JSON endpoint every second until
// the run ends, and fill the parts all run pages have: status badge, log, error, times, cancel button.
// Reads the endpoint URL and the last log id from data attributes of #mop-run; no libraries.
window.mopLive = (function () {
  "use strict";

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // The overall bar and its text in steps done of steps_total (``unit``: "steps", "tables").
  function steps(data, unit) {
    const bar = document.getElementById("mop-progress");
    bar.max = Math.max(data.steps_total, 1);
    bar.value = data.steps_total ? data.steps_done : (data.percent === 100 ? 1 : 0);
    document.getElementById("mop-progress-text").textContent =
      data.steps_done + " / " + data.steps_total + " " + unit + (data.current_step ? " — " + data.current_step : "");
  }

  // Poll #mop-run's endpoint, calling render(data) for the page's own parts; cancelQuestion guards the cancel form.
  function start(render, cancelQuestion) {
    const root = document.getElementById("mop-run");
    if (!root) return;
    const url = root.dataset.liveUrl;
    let after = parseInt(root.dataset.lastLog || "0", 10);
    let active = root.dataset.active === "true";

    function renderCommon(data) {
      const badge = document.getElementById("mop-status");
      badge.className = "mop-badge mop-status-" + data.status;
      badge.textContent = data.status_label;
      badge.dataset.status = data.status;
      render(data, root);
      const log = document.getElementById("mop-log");
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      data.log.forEach((line) => {
        const div = el("div", { class: "lvl-" + line.level });
        div.append(el("span", { class: "at" }, line.at + " "), document.createTextNode(line.message));
        log.append(div);
        after = Math.max(after, line.id);
      });
      if (atBottom) log.scrollTop = log.scrollHeight;
      if (data.error) {
        document.getElementById("mop-error").hidden = false;
        document.getElementById("mop-error-message").textContent = data.error.message;
        document.getElementById("mop-error-explanation").textContent = data.error.explanation || "";
      }
      if (data.finished_at) document.getElementById("mop-finished").textContent = data.finished_at;
      if (data.started_at) document.getElementById("mop-started").textContent = data.started_at;
      if (!data.active) {
        const cancel = document.getElementById("mop-cancel");
        if (cancel) cancel.hidden = true;
      }
    }

    function poll() {
      fetch(url + "?after=" + after, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((data) => {
          renderCommon(data);
          active = data.active;
          if (active) setTimeout(poll, 1000);
          else root.dataset.active = "false";
        })
        .catch(() => setTimeout(poll, 3000));
    }

    const cancelForm = document.getElementById("mop-cancel");
    if (cancelForm) {
      cancelForm.addEventListener("submit", (ev) => {
        if (!window.confirm(cancelQuestion)) ev.preventDefault();
      });
    }
    if (active) setTimeout(poll, 500);
  }

  return { el, start, steps };
})();
