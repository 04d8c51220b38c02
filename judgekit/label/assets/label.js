// judgekit label: the page. One item at a time from the server; every text goes in with textContent.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let state = null; // run-wide: rubric, kind, options
  let view = null; // the item shown: {pos, number, item, saved, progress, judge}
  let values = {}; // aspect (or "") -> option key / pair choice
  let focus = 0; // focused aspect on a checklist
  let busy = false;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  async function call(path, body) {
    const init = body === undefined ? { cache: "no-store" }
      : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      throw new Error("the server is not reachable (is judgekit label still running?)");
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error || "the server answered " + res.status);
    return data;
  }

  function say(text, bad) {
    const s = $("status");
    s.textContent = text;
    s.className = bad ? "bad" : "";
  }

  function aspects() {
    return view && view.item ? view.item.aspects.map((a) => a.aspect) : [];
  }

  function keyOf(value) {
    if (state.kind === "pair") return value;
    const hit = state.options.find((o) => o.value === Number(value));
    return hit ? hit.key : undefined;
  }

  function show(data) {
    view = data;
    values = {};
    focus = 0;
    const p = data.progress;
    $("count").textContent = p.labelled + " / " + p.target + " labelled";
    $("fill").style.width = (p.target ? (100 * p.labelled) / p.target : 100) + "%";
    $("bar").setAttribute("aria-valuenow", String(p.labelled));
    $("bar").setAttribute("aria-valuemax", String(p.target));
    document.body.dataset.done = data.done ? "1" : "0";
    $("done").hidden = !data.done;
    $("item").hidden = data.done;
    $("answer").hidden = data.done;
    if (data.done) {
      $("where").textContent = "";
      document.body.dataset.ready = "1";
      return;
    }
    if (data.saved) {
      for (const [k, v] of Object.entries(data.saved.labels)) values[k] = keyOf(v);
    }
    $("note").value = data.saved ? data.saved.note : "";
    $("where").textContent = "item " + data.number + " of " + state.total;
    $("item").dataset.id = data.item.id;
    $("item").dataset.number = String(data.number);
    $("itemid").textContent = data.item.id;
    drawItem(data.item);
    drawControls();
    drawJudge(data.judge);
    document.body.dataset.ready = "1";
  }

  function drawItem(item) {
    const fields = $("fields");
    fields.replaceChildren();
    for (const f of item.fields) {
      const box = el("div", null, "field");
      box.append(el("h3", f.name), el("p", f.text, "text"));
      fields.append(box);
    }
    const out = $("responses");
    out.replaceChildren();
    item.responses.forEach((r, n) => {
      const box = el("div", null, "response");
      const title = state.kind === "pair" ? (n === 0 ? "first response (a)" : "second response (b)") : "response";
      box.append(el("h3", title));
      if (r.history.length) {
        const hist = el("div", null, "history");
        hist.append(el("h4", "earlier turns"));
        for (const m of r.history) hist.append(el("p", m.role + ": " + m.content, "turn " + m.role));
        box.append(hist);
      }
      box.append(el("p", r.text, "text"));
      out.append(box);
    });
  }

  function drawControls() {
    const box = $("controls");
    box.replaceChildren();
    if (state.kind === "pair") {
      const row = el("div", null, "row focused");
      const names = { a: "a: first better", b: "b: second better", t: "t: tie" };
      for (const k of ["a", "b", "t"]) {
        const btn = el("span", names[k], "opt" + (pairKey() === k ? " on" : ""));
        row.append(btn);
      }
      box.append(row);
      return;
    }
    const rows = state.kind === "checklist" ? view.item.aspects : [{ aspect: "", reason: "" }];
    rows.forEach((a, n) => {
      const row = el("div", null, "row" + (n === focus ? " focused" : ""));
      row.dataset.aspect = a.aspect;
      if (a.aspect) row.append(el("div", a.aspect, "aspect"));
      if (a.reason) row.append(el("div", a.reason, "reason"));
      const opts = el("div", null, "opts");
      for (const o of state.options) {
        opts.append(el("span", o.key + ": " + o.text, "opt" + (values[a.aspect] === o.key ? " on" : "")));
      }
      row.append(opts);
      box.append(row);
    });
  }

  function pairKey() {
    const v = values[""];
    if (v === "tie") return "t";
    if (!view.item || v === undefined) return undefined;
    return view.item.responses[0].number === v ? "a" : "b";
  }

  function drawJudge(judge) {
    const box = $("judge");
    box.replaceChildren();
    box.hidden = !state.show_judge;
    if (!state.show_judge) return;
    box.append(el("h3", "judge"));
    if (!judge) {
      box.append(el("p", "no judge score for this item"));
      return;
    }
    box.append(el("p", "score: " + (judge.score === null ? "unscored" : judge.score)));
    for (const d of judge.details) {
      box.append(el("p", (d.aspect ? d.aspect + ": " : "") + (d.score === null ? "unscored" : d.score), "aspect"));
      box.append(el("pre", JSON.stringify(d.answer, null, 1)));
    }
    for (const call of judge.raw) {
      box.append(el("h4", "raw answer" + (call.targets ? " (" + call.targets.join(", ") + ")" : "")));
      box.append(el("pre", call.completion === null ? "(none)" : call.completion, "raw"));
    }
  }

  function complete() {
    const need = state.kind === "checklist" ? aspects() : [""];
    return need.every((k) => values[k] !== undefined);
  }

  async function go(promise, message) {
    if (busy) return;
    busy = true;
    try {
      show(await promise());
      if (message) say(message);
    } catch (err) {
      say(err.message, true);
    } finally {
      busy = false;
    }
  }

  function submit() {
    if (!complete()) {
      say(state.kind === "checklist" ? "give every aspect a value first" : "choose a label first", true);
      return;
    }
    const labels = {};
    for (const [k, v] of Object.entries(values)) labels[k] = v;
    const body = { pos: view.pos, id: view.item.id, labels: labels, note: $("note").value };
    go(() => call("api/label", body), "saved " + view.item.id);
  }

  function setValue(key) {
    if (state.kind === "checklist") values[aspects()[focus]] = key;
    else values[""] = key;
    drawControls();
  }

  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const k = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key; // Caps Lock does not change a command
    if (document.activeElement === $("note")) {
      if (k === "Escape") $("note").blur();
      else if (k === "Enter") { ev.preventDefault(); $("note").blur(); submit(); }
      return;
    }
    if (k === "?") { $("keys").hidden = !$("keys").hidden; return; }
    if (k === "Tab" && state.kind !== "checklist") { ev.preventDefault(); return; } // focus stays off the note
    if (!view) return;
    if (k === "ArrowLeft") {
      ev.preventDefault();
      const pos = view.done ? state.total : view.pos;
      go(() => call("api/item?before=" + pos));
      return;
    }
    if (k === "u") { go(() => call("api/undo", {}), "undone: labels withdrawn"); return; }
    if (view.done) return;
    if (k === "Enter") { ev.preventDefault(); submit(); return; }
    if (k === "s") { go(() => call("api/item?after=" + view.pos), "skipped " + view.item.id); return; }
    if (k === "n") { ev.preventDefault(); $("note").focus(); return; }
    if (state.kind === "checklist" && (k === "Tab" || k === "ArrowDown" || k === "ArrowUp")) {
      ev.preventDefault();
      const n = aspects().length;
      const back = k === "ArrowUp" || (k === "Tab" && ev.shiftKey);
      focus = (focus + (back ? n - 1 : 1)) % n;
      drawControls();
      return;
    }
    if (state.kind === "pair") {
      const resp = view.item.responses;
      if (k === "a") setValue(resp[0].number);
      else if (k === "b") setValue(resp[1].number);
      else if (k === "t") setValue("tie");
      return;
    }
    if (/^[0-9]$/.test(k) && state.options.some((o) => o.key === k)) setValue(k);
  }

  async function start() {
    try {
      state = await call("api/state");
      $("who").textContent = "annotator: " + state.annotator + " - rubric: " + state.rubric;
      if (state.criterion) {
        const c = $("criterion");
        c.hidden = false;
        c.append(el("h3", state.criterion.name), el("p", state.criterion.description, "text"));
      }
      document.addEventListener("keydown", onKey);
      show(await call("api/item"));
    } catch (err) {
      say(err.message, true);
    }
  }

  start();
})();
