// Live run page of a migration (upgrade, downgrade, stamp): steps, error data and blockers.
// Polling, status, log, error and times are live.js's (loaded first).
(function () {
  "use strict";
  const el = window.mopLive.el;

  // Class, statement, revision file:line and a collapsed traceback (as templates/admin/ops/run/_failure.html).
  function failureBlock(f) {
    const wrap = el("div", { id: "mop-failure" });
    const table = el("table", { class: "mop-kv" });
    const row = (k, v) => { const tr = el("tr"); const td = el("td"); td.append(el("code", {}, v)); tr.append(el("th", {}, k), td); table.append(tr); };
    row("Exception", f.exception_class + (f.wrapper_class ? " (raised as " + f.wrapper_class + ")" : ""));
    if (f.statement) row("Failing statement", f.statement + (f.parameters ? "  -- parameters " + f.parameters : ""));
    if (f.revision_file) row("Revision file", f.revision_file + ":" + f.revision_line + " in " + f.revision_function + "()");
    wrap.append(table);
    if (f.traceback) {
      const det = el("details", { id: "mop-failure-traceback" });
      det.append(el("summary", {}, "Traceback"), el("pre", { class: "mop-sql" }, f.traceback));
      wrap.append(det);
    }
    return wrap;
  }

  function render(data) {
    window.mopLive.steps(data, "steps");
    const body = document.getElementById("mop-steps-body");
    if (body && data.steps.length) {
      body.replaceChildren(...data.steps.map((s, i) => {
        const tr = el("tr", { class: "step-" + s.state });
        tr.append(el("td", {}, i + 1), el("td", {}, s.direction), el("td", {}, s.revision),
          el("td", {}, s.message || ""), el("td", {}, s.seconds == null ? "" : Number(s.seconds).toFixed(3) + " s"));
        return tr;
      }));
    }
    if (data.error) {
      const box = document.getElementById("mop-error");
      const extra = Object.entries(data.error.data || {}).filter(([k]) => !["code", "message", "explanation", "failure"].includes(k));
      const failure = (data.error.data || {}).failure;
      if (failure && !document.getElementById("mop-failure")) box.append(failureBlock(failure));
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
    if (data.result_heads) document.getElementById("mop-result").textContent = data.result_heads.join(", ") || "base";
    // who blocks the run's backend; server-rendered, escaped HTML from the live endpoint.
    const blockers = document.getElementById("mop-run-blockers");
    if (blockers && "blockers" in data) {
      const b = data.blockers;
      blockers.hidden = !(b && (b.count || b.error));
      const frag = blockers.querySelector(".mop-fragment");
      if (b && b.error) frag.textContent = b.error.message;
      else frag.innerHTML = (b && b.html) || "";
    }
  }

  window.mopLive.start(render, "Cancel this run? The step in flight rolls back.");
})();
