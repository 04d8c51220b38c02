// judgekit report: the item browser. Every string from the inputs is set with textContent, never as HTML.
"use strict";
(function () {
  var PAGE = 50;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fmt(v) {
    return typeof v === "number" ? v.toFixed(3) : "n/a";
  }

  function haystack(it) {
    var parts = [it.id, it.q || "", it.resp || "", it.cat || ""];
    (it.a || []).forEach(function (a) { parts.push(a.n || "", a.r || ""); });
    (it.log || []).forEach(function (c) { parts.push(c.c || "", c.e || ""); });
    return parts.join("\n").toLowerCase();
  }

  // A unit's status is written only when it is not "scored".
  function isUnscored(a) {
    return !!a.st && a.st !== "scored";
  }

  function hasParseError(it) {
    return (it.log || []).some(function (c) { return !!c.e; });
  }

  function kvLine(parent, label, value) {
    var p = el("div");
    p.appendChild(el("strong", null, label + ": "));
    p.appendChild(document.createTextNode(String(value)));
    parent.appendChild(p);
  }

  function block(parent, label, text, cls) {
    parent.appendChild(el("div", null, label));
    parent.appendChild(el("pre", cls, text));
  }

  function body(it) {
    var b = el("div", "body");
    if (it.q) block(b, "question", it.q);
    if (it.resp) block(b, "response", it.resp);
    kvLine(b, "score", fmt(it.s) + "  (coverage " + (typeof it.cov === "number" ? Math.round(it.cov * 100) + "%" : "n/a") + ")");
    if (it.j) kvLine(b, "per judge", Object.keys(it.j).map(function (k) { return k + " " + fmt(it.j[k]); }).join("; "));
    if (it.lex) kvLine(b, "lexical", Object.keys(it.lex).map(function (k) { return k + " " + fmt(it.lex[k]); }).join("; "));
    var t = el("table");
    var head = el("tr");
    ["unit", "score", "status", "reason", "per judge / samples"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    t.appendChild(head);
    (it.a || []).forEach(function (a) {
      var tr = el("tr");
      var extra = a.j ? Object.keys(a.j).map(function (k) { return k + " " + fmt(a.j[k]); }).join("; ") : "";
      if (a.smp) extra += (extra ? "; " : "") + "samples " + a.smp.map(fmt).join(", ");
      [a.n, fmt(a.s), a.st || "scored", a.r || "", extra].forEach(function (c) { tr.appendChild(el("td", null, c)); });
      t.appendChild(tr);
    });
    b.appendChild(t);
    (it.log || []).forEach(function (c) {
      var label = "judge answer" + (c.t && c.t.length ? " for " + c.t.join(", ") : "") +
        (c.turn ? " (turn " + c.turn + ")" : "") + " [" + (c.st || "") + "]" + (c.judge ? " " + c.judge : "");
      block(b, label, c.c === null || c.c === undefined ? "(no answer)" : c.c);
      if (c.e) block(b, "parse error", c.e, "err");
    });
    return b;
  }

  function row(it) {
    var d = el("details");
    d.dataset.id = it.id;
    var s = el("summary");
    s.appendChild(el("span", "qid", it.id));
    var unscored = (it.a || []).filter(isUnscored).length;
    var meta = "score " + fmt(it.s) + (it.cat ? " · " + it.cat : "") +
      (unscored ? " · " + unscored + " unscored" : "") + (hasParseError(it) ? " · parse error" : "");
    s.appendChild(el("span", "meta", meta));
    d.appendChild(s);
    // Lazy: a question's details are built the first time it is opened.
    d.addEventListener("toggle", function () {
      if (d.open && d.childNodes.length === 1) d.appendChild(body(it));
    });
    return d;
  }

  function setup(section) {
    var source = document.getElementById(section.dataset.source);
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var items = data.items || [];
    var hay = null;
    var state = { q: "", f: "all", page: 0, shown: items };
    var rows = section.querySelector(".rows");
    var info = section.querySelector(".pageinfo");
    var prev = section.querySelector(".prev");
    var next = section.querySelector(".next");
    section.querySelector(".lognote").textContent = data.note || "";

    function apply() {
      var q = state.q.trim().toLowerCase();
      if (q && !hay) hay = items.map(haystack);
      state.shown = items.filter(function (it, k) {
        if (state.f === "unscored" && !(it.a || []).some(isUnscored)) return false;
        if (state.f === "parse" && !hasParseError(it)) return false;
        return !q || hay[k].indexOf(q) !== -1;
      });
      state.page = 0;
      render();
    }

    function render() {
      var pages = Math.max(1, Math.ceil(state.shown.length / PAGE));
      state.page = Math.min(state.page, pages - 1);
      var start = state.page * PAGE;
      var frag = document.createDocumentFragment();
      state.shown.slice(start, start + PAGE).forEach(function (it) { frag.appendChild(row(it)); });
      rows.replaceChildren(frag);
      info.textContent = "page " + (state.page + 1) + " of " + pages + " · " + state.shown.length +
        " of " + items.length + " questions";
      prev.disabled = state.page === 0;
      next.disabled = state.page >= pages - 1;
    }

    section.querySelector(".search").addEventListener("input", function (e) { state.q = e.target.value; apply(); });
    section.querySelector(".filter").addEventListener("change", function (e) { state.f = e.target.value; apply(); });
    prev.addEventListener("click", function () { state.page -= 1; render(); });
    next.addEventListener("click", function () { state.page += 1; render(); });
    render();
  }

  document.querySelectorAll("section.browser").forEach(setup);
})();
