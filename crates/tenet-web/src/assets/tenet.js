// Tenet's page, enhanced: search as you type, copy buttons, and pages that follow the
// files on disk. Without this script every page still works (search is a form).
"use strict";
(() => {
  const input = document.getElementById("q");
  const panel = document.getElementById("hits");
  const notice = document.getElementById("notice");
  let timer = 0;
  let asked = 0;

  function text(tag, value, cls) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }

  async function search() {
    const q = input.value.trim();
    const mine = ++asked;
    if (!q) { panel.hidden = true; panel.replaceChildren(); return; }
    let body;
    try {
      const response = await fetch("/search.json?q=" + encodeURIComponent(q));
      body = await response.json();
      // The page's own refusals carry a string; the server's door (a rate limit, 429)
      // a JSON-RPC error object with its message.
      const error = body.error && (body.error.message || body.error);
      if (!response.ok) throw new Error(error || response.statusText);
    } catch (e) {
      if (mine === asked) { panel.replaceChildren(text("p", "Search failed: " + e.message)); panel.hidden = false; }
      return;
    }
    if (mine !== asked) return; // a newer search is on its way
    const list = document.createElement("ol");
    for (const hit of body.hits) {
      const item = document.createElement("li");
      const link = text("a", hit.heading || hit.title);
      link.href = hit.href;
      item.append(link, text("span", hit.language + " · " + hit.domain + " · " + hit.title, "where"));
      const snippet = document.createElement("p");
      // The server escaped the snippet and marked the matches with <mark> only.
      snippet.innerHTML = hit.snippet;
      item.append(snippet);
      list.append(item);
    }
    panel.replaceChildren(body.hits.length ? list : text("p", "No matches."));
    panel.hidden = false;
  }

  if (input && panel) {
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 120); });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Escape") { panel.hidden = true; }
      if (e.key === "ArrowDown") { const first = panel.querySelector("a"); if (first) { e.preventDefault(); first.focus(); } }
    });
    panel.addEventListener("keydown", (e) => {
      const links = [...panel.querySelectorAll("a")];
      const at = links.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && at < links.length - 1) { e.preventDefault(); links[at + 1].focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); (at > 0 ? links[at - 1] : input).focus(); }
      if (e.key === "Escape") { panel.hidden = true; input.focus(); }
    });
    document.addEventListener("click", (e) => { if (!panel.contains(e.target) && e.target !== input) panel.hidden = true; });
  }

  document.addEventListener("click", async (e) => {
    const button = e.target.closest("button.copy");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(source.textContent);
      button.textContent = "Copied";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(source);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });

  // Live: a changed document of this page (or any, on the matrix) refreshes what is shown.
  const key = document.body.dataset.key;
  const shows = (uri) => {
    if (uri === "*" || !key) return true;
    const [language, domain] = key.split("/");
    const [, path] = uri.split("stdlib://");
    if (!path) return false;
    const [l, d] = path.split("/");
    return d === domain && (l === language || l === "all");
  };
  let refreshing = false;
  async function refresh() {
    if (refreshing) return;
    refreshing = true;
    try {
      const response = await fetch(location.pathname, { cache: "no-store" });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("main");
      if (fresh) document.getElementById("main").replaceChildren(...fresh.childNodes);
      notice.textContent = response.ok
        ? "Updated from disk at " + new Date().toLocaleTimeString() + "."
        : "This standard is no longer on disk.";
      notice.hidden = false;
    } catch {
      notice.textContent = "The files changed; reload to see them.";
      notice.hidden = false;
    } finally {
      refreshing = false;
    }
  }
  if (window.EventSource && location.pathname !== "/search") {
    let events = null;
    const follow = () => {
      events = new EventSource("/events");
      events.addEventListener("changed", (e) => { if (shows(e.data)) refresh(); });
    };
    follow();
    // A page left behind, or kept in the back/forward cache, lets its stream go: a
    // browser holds at most six connections to one server, and a stream holds one.
    // Shown again from that cache, it follows anew and reloads what may have changed.
    addEventListener("pagehide", () => events.close());
    addEventListener("pageshow", (e) => { if (e.persisted) { follow(); refresh(); } });
  }
})();
