// Live run page: poll the run's JSON endpoint every second until the run ends.
// Reads the endpoint URL and the last log id from data attributes; no libraries.
(function () {
  "use strict";
  const root = document.getElementById("mop-run");
  if (!root) return;
  const url = root.dataset.liveUrl;
  let after = parseInt(root.dataset.lastLog || "0", 10);
  let active = root.dataset.active === "true";

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function render(data) {
    const badge = document.getElementById("mop-status");
    badge.className = "mop-badge mop-status-" + data.status;
    badge.textContent = data.status_label;
    badge.dataset.status = data.status;
    const bar = document.getElementById("mop-progress");
    bar.max = Math.max(data.steps_total, 1);
    bar.value = data.steps_total ? data.steps_done : (data.percent === 100 ? 1 : 0);
    document.getElementById("mop-progress-text").textContent =
      data.steps_done + " / " + data.steps_total + " steps" + (data.current_step ? " — " + data.current_step : "");
    const body = document.getElementById("mop-steps-body");
    if (body && data.steps.length) {
      body.replaceChildren(...data.steps.map((s, i) => {
        const tr = el("tr", { class: "step-" + s.state });
        tr.append(el("td", {}, i + 1), el("td", {}, s.direction), el("td", {}, s.revision),
          el("td", {}, s.message || ""), el("td", {}, s.seconds == null ? "" : Number(s.seconds).toFixed(3) + " s"));
        return tr;
      }));
    }
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
      const box = document.getElementById("mop-error");
      box.hidden = false;
      document.getElementById("mop-error-message").textContent = data.error.message;
      document.getElementById("mop-error-explanation").textContent = data.error.explanation || "";
      const extra = Object.entries(data.error.data || {}).filter(([k]) => !["code", "message", "explanation"].includes(k));
      let table = document.getElementById("mop-error-data");
      if (extra.length) {
        if (!table) { table = el("table", { class: "mop-kv", id: "mop-error-data" }); box.append(table); }
        table.replaceChildren(...extra.map(([k, v]) => {
          const tr = el("tr");
          const td = el("td");
          td.append(el("code", {}, typeof v === "object" ? JSON.stringify(v) : v));
          tr.append(el("th", {}, k), td);
          return tr;
        }));
      }
    }
    if (data.finished_at) document.getElementById("mop-finished").textContent = data.finished_at;
    if (data.started_at) document.getElementById("mop-started").textContent = data.started_at;
    if (data.result_heads) document.getElementById("mop-result").textContent = data.result_heads.join(", ") || "base";
    // Issue 5: who blocks the run's backend; server-rendered, escaped HTML from the live endpoint.
    const blockers = document.getElementById("mop-run-blockers");
    if (blockers && "blockers" in data) {
      const b = data.blockers;
      blockers.hidden = !(b && (b.count || b.error));
      const frag = blockers.querySelector(".mop-fragment");
      if (b && b.error) frag.textContent = b.error.message;
      else frag.innerHTML = (b && b.html) || "";
    }
    if (!data.active) {
      const cancel = document.getElementById("mop-cancel");
      if (cancel) cancel.hidden = true;
    }
  }

  function poll() {
    fetch(url + "?after=" + after, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((data) => {
        render(data);
        active = data.active;
        if (active) setTimeout(poll, 1000);
        else root.dataset.active = "false";
      })
      .catch(() => setTimeout(poll, 3000));
  }

  const cancelForm = document.getElementById("mop-cancel");
  if (cancelForm) {
    cancelForm.addEventListener("submit", (ev) => {
      if (!window.confirm("Cancel this run? The step in flight rolls back.")) ev.preventDefault();
    });
  }
  if (active) setTimeout(poll, 500);
})();
