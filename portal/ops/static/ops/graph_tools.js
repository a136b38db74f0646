// Project page: search the graph and table by id or message, jump to heads and targets, zoom the SVG.
// A revision folded into a collapsed chain is found through the chain's row (#mop-chains: chain id -> ids).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    const box = document.getElementById("mop-graph");
    const svg = box && box.querySelector("svg");
    if (!svg) return;
    const chainsEl = document.getElementById("mop-chains");
    const chains = chainsEl ? JSON.parse(chainsEl.textContent) : {};
    const owner = {};
    Object.entries(chains).forEach(([chain, ids]) => ids.forEach((id) => { owner[id] = chain; }));
    const baseW = parseFloat(svg.getAttribute("width")), baseH = parseFloat(svg.getAttribute("height"));
    let scale = 1;
    function zoom(to) {
      scale = Math.min(4, Math.max(0.1, to));
      svg.setAttribute("width", String(baseW * scale));
      svg.setAttribute("height", String(baseH * scale));
      box.dataset.scale = scale.toFixed(2);
    }
    document.querySelectorAll("[data-zoom]").forEach((b) => b.addEventListener("click", () => {
      const z = b.dataset.zoom;
      zoom(z === "fit" ? box.clientWidth / baseW : z === "1" ? 1 : scale * parseFloat(z));
    }));
    function labelOf(id) { return svg.querySelector('g[data-label="' + CSS.escape(id) + '"]'); }
    function flash(id) {
      svg.querySelectorAll(".mop-hit").forEach((e) => e.classList.remove("mop-hit"));
      const shown = labelOf(id) ? id : owner[id];
      const g = shown && labelOf(shown);
      if (!g) return false;
      g.classList.add("mop-hit");
      const node = svg.querySelector('g[data-rev="' + CSS.escape(shown) + '"]');
      if (node) node.classList.add("mop-hit");
      const r = g.getBoundingClientRect(), b = box.getBoundingClientRect();
      box.scrollTop += r.top - b.top - box.clientHeight / 3;
      box.scrollLeft = 0;
      return true;
    }
    document.querySelectorAll(".mop-jump").forEach((b) => b.addEventListener("click", () => flash(b.dataset.rev)));
    const rows = Array.from(document.querySelectorAll("#mop-revisions tbody tr"));
    const texts = rows.map((tr) => (tr.id.replace(/^rev-/, "") + " " + (tr.querySelector(".msg") || {}).textContent).toLowerCase());
    const found = document.getElementById("mop-graph-found");
    const input = document.getElementById("mop-graph-search");
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const q = input.value.trim().toLowerCase();
        let n = 0, first = null;
        rows.forEach((tr, i) => {
          const hit = !q || texts[i].includes(q);
          tr.hidden = !hit;
          if (hit && q) { n += 1; if (!first) first = tr.id.replace(/^rev-/, ""); }
        });
        found.textContent = q ? n + " match" + (n === 1 ? "" : "es") + (first ? "; first: " + first.slice(0, 12) : "") : "";
        if (first) flash(first);
      }, 120);
    });
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") e.preventDefault(); });
  });
})();
