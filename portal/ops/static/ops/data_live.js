// Live page of a copy or verification run: poll the run's JSON endpoint every second until it ends.
// Copy runs: overall bar and one bar per table (rows done / total, rows/s, MB/s, ETA), summary at the end.
// Verification runs: tables verified, then the link to the stored report. No libraries.
(function () {
  "use strict";
  const root = document.getElementById("mop-run");
  if (!root) return;
  const url = root.dataset.liveUrl;
  const kind = root.dataset.kind;
  let after = parseInt(root.dataset.lastLog || "0", 10);
  let active = root.dataset.active === "true";

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(n) { return Number(n || 0).toLocaleString("en-US"); }

  function renderCopy(c) {
    if (!c) return;
    document.getElementById("mop-phase").textContent = c.phase || "—";
    const bar = document.getElementById("mop-progress");
    bar.value = c.overall.percent;
    const o = c.overall;
    document.getElementById("mop-progress-text").textContent =
      num(o.done) + " / " + num(o.total) + " rows (" + o.percent + " %)" +
      (o.rows_per_s ? " — " + num(o.rows_per_s) + " rows/s, " + o.mb_per_s + " MB/s" : "") +
      (o.eta_s != null ? ", ETA " + o.eta_s + " s" : "");
    const body = document.getElementById("mop-copy-tables-body");
    if (c.tables.length) {
      body.replaceChildren(...c.tables.map((t) => {
        const tr = el("tr", { "data-table": t.table, "data-state": t.state, class: "mop-state-" + t.state });
        const name = el("td"); name.append(el("code", {}, t.table));
        const cell = el("td", { class: "bar" });
        const p = el("progress", { class: "mop-table-bar", max: "100" }); p.value = t.percent;
        cell.append(p, el("span", { class: "pct" }, t.percent + " %"));
        tr.append(name, cell, el("td", { class: "num" }, num(t.done) + " / " + num(t.total)),
          el("td", { class: "num" }, num(t.rejected)), el("td", { class: "num" }, t.ranges_done + " / " + t.ranges),
          el("td", { class: "num" }, num(t.rows_per_s)), el("td", { class: "num" }, t.mb_per_s),
          el("td", { class: "num" }, t.eta_s == null ? "" : t.eta_s + " s"));
        return tr;
      }));
    }
    if (c.summary_text) {
      document.getElementById("mop-summary").textContent = c.summary_text;
      document.getElementById("mop-summary-block").hidden = false;
    }
    if (c.verify_run_id) {
      const span = document.getElementById("mop-verify-link");
      const a = span.querySelector("a");
      a.href = root.dataset.runUrl.replace("/0/", "/" + c.verify_run_id + "/");
      a.textContent = "Verification run #" + c.verify_run_id;
      span.hidden = false;
    }
  }

  function renderVerify(data) {
    const bar = document.getElementById("mop-progress");
    bar.max = Math.max(data.steps_total, 1);
    bar.value = data.steps_total ? data.steps_done : (data.percent === 100 ? 1 : 0);
    document.getElementById("mop-progress-text").textContent =
      data.steps_done + " / " + data.steps_total + " tables" + (data.current_step ? " — " + data.current_step : "");
    const v = data.verify || {};
    if (v.report_url) {
      const p = document.getElementById("mop-report-link");
      const a = p.querySelector("a");
      a.href = v.report_url;
      a.textContent = "Report #" + v.report_id;
      const s = document.getElementById("mop-report-status");
      s.textContent = v.report_status;
      s.className = "mop-badge mop-verdict-" + v.report_status;
      p.hidden = false;
    }
  }

  function render(data) {
    const badge = document.getElementById("mop-status");
    badge.className = "mop-badge mop-status-" + data.status;
    badge.textContent = data.status_label;
    badge.dataset.status = data.status;
    if (kind === "copy") renderCopy(data.copy); else renderVerify(data);
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
    if (data.worker) document.getElementById("mop-worker").textContent = data.worker;
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
      if (!window.confirm("Cancel this run? Ranges in flight roll back; committed ranges stay and a resume skips them."))
        ev.preventDefault();
    });
  }
  if (active) setTimeout(poll, 500);
})();
