// Live page of a copy or verification run.
// Copy runs: overall bar and one bar per table (rows done / total, rows/s, MB/s, ETA), summary at the end.
// Verification runs: tables verified, then the link to the stored report.
// Polling, status, log, error and times are live.js's (loaded first).
(function () {
  "use strict";
  const el = window.mopLive.el;

  function num(n) { return Number(n || 0).toLocaleString("en-US"); }

  function renderCopy(c, root) {
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
        const tr = el("tr", { "data-table": t.table, "data-state": t.state,
                              class: "mop-state-" + t.state + (t.rejected ? " mop-has-rejects" : "") });
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
    // What the copy left behind, once its summary names it (a page opened before the end had nothing to show).
    const skipped = (c.summary && c.summary.skipped) || [];
    const block = document.getElementById("mop-copy-not-copied-block");
    if (skipped.length && block && block.hidden) {
      block.querySelector("tbody").replaceChildren(...skipped.map((o) => {
        const tr = el("tr", { "data-table": o.name });
        const name = el("td"); name.append(el("code", {}, o.name));
        tr.append(name, el("td", {}, o.kind), el("td", { class: "num" }, o.rows == null ? "—" : num(o.rows)),
          el("td", {}, o.advice || ""));
        return tr;
      }));
      block.hidden = false;
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
    window.mopLive.steps(data, "tables");
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

  function render(data, root) {
    if (root.dataset.kind === "copy") renderCopy(data.copy, root); else renderVerify(data);
    if (data.worker) document.getElementById("mop-worker").textContent = data.worker;
  }

  window.mopLive.start(
    render, "Cancel this run? Ranges in flight roll back; committed ranges stay and a resume skips them.");
})();
