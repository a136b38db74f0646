"""What every page is checked for in both themes: no sideways scrolling at 1280 px, readable danger boxes.

``overflow(page)`` names every box wider than its room (the page itself, and
the admin's scrolling result lists); ``contrast(page, selector)`` gives the
WCAG contrast ratio of each visible element's text on its computed background.
"""

from __future__ import annotations

WIDTH = 1280
AA = 4.5
THEMES = ("light", "dark")

_OVERFLOW_JS = """() => {
  const out = [];
  const de = document.documentElement;
  if (de.scrollWidth > window.innerWidth) out.push(`page ${de.scrollWidth} > ${window.innerWidth}`);
  document.querySelectorAll('#changelist .results, .mop-table-wrap').forEach((el) => {
    if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.id || el.className} ${el.scrollWidth} > ${el.clientWidth}`);
  });
  return out;
}"""

_CONTRAST_JS = """(sel) => {
  function parse(c) {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  }
  function bg(el) {
    while (el) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c && c.a > 0.5) return c;
      el = el.parentElement;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  }
  function lum(c) {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  }
  return Array.from(document.querySelectorAll(sel))
    .filter((e) => e.offsetParent !== null && (e.innerText || e.value || '').trim())
    .map((e) => {
      const fg = parse(getComputedStyle(e).color);
      const l1 = lum(fg), l2 = lum(bg(e));
      return { text: (e.innerText || e.value || '').trim().slice(0, 50),
               ratio: (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05) };
    });
}"""


def overflow(page) -> list[str]:
    """Every box wider than its room: empty when the page fits."""
    return page.evaluate(_OVERFLOW_JS)


def contrast(page, selector: str) -> list[dict]:
    """[{text, ratio}] of each visible element matching ``selector``."""
    return page.evaluate(_CONTRAST_JS, selector)


def themed_page(browser, theme: str):
    """A fresh page at 1280 px whose browser prefers ``theme`` (the admin's default theme is 'auto')."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, color_scheme=theme)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


_INTERNALS_JS = """() => {
  // Visible words a DBA reads: everything but code, SQL, logs and form fields, where identifiers belong.
  const skip = 'code, pre, textarea, script, style, select, input, kbd, samp, .mop-sql, .mop-log, [hidden]';
  const out = new Set();
  const walker = document.createTreeWalker(document.getElementById('content') || document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || !el.checkVisibility()) continue;
    const text = n.textContent;
    // (environment variables, MOP_..., are named as the DBA types them into .env)
    (text.match(/\\b[A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+\\b/g) || []).filter((w) => !w.startsWith('MOP_'))
      .forEach((w) => out.add(w));
    (text.match(/\\{\\s*"[a-z_]+"\\s*:/g) || []).forEach((w) => out.add('JSON ' + w));
    (text.match(/\\b[a-z_]+=(?:True|False|None)\\b/g) || []).forEach((w) => out.add(w));
  }
  return Array.from(out);
}"""


def internals(page) -> list[str]:
    """Raw internals shown as words (``NOT_UP_TO_DATE``, ``{"key": ...}``, ``confirmed=False``): empty when none."""
    return page.evaluate(_INTERNALS_JS)
