/* 办理时限页面：分类 × 环节表，按类别/大类筛选，单元格内编辑，新增与删除规则。
   Writes go to /api/cases/config/time-limits… with the session cookie and the CSRF token. */
(function () {
  "use strict";
  const API = "/api/cases/config/time-limits";
  const $ = id => document.getElementById(id);
  const refs = JSON.parse($("limits-refs").textContent);
  const STAGES = refs.stage_order;  // JSON objects arrive with sorted keys: keep the process order
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  const state = { items: [] };

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  async function call(method, url, body) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, credentials: "same-origin" };
    if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    const r = await fetch(url, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const err = new Error((data && data.error && data.error.message) || ("请求失败（" + r.status + "）"));
      err.status = r.status; err.data = data;
      throw err;
    }
    return data;
  }

  function toast(msg, kind) {
    const el = document.createElement("div");
    el.className = "alert alert-" + (kind || "success") + " shadow-sm py-2";
    el.textContent = msg;
    $("toast-area").appendChild(el);
    setTimeout(() => el.remove(), 5000);
  }

  function fillBigs() {
    const kind = $("f-kind").value;
    const names = refs.classes[kind] || {};
    $("f-big").innerHTML = '<option value="">全部大类</option>' + Object.keys(names).filter(c => c.length === 2).sort()
      .map(c => `<option value="${c}">${c} ${esc(names[c])}</option>`).join("");
  }

  function fillClassList() {
    const names = refs.classes[$("n-kind").value] || {};
    $("class-list").innerHTML = Object.keys(names).sort().map(c => `<option value="${c}">${esc(names[c])}</option>`).join("");
  }

  function fmtHours(h) { return (Math.round(h * 100) / 100).toString(); }

  function render() {
    const kind = $("f-kind").value;
    const rules = state.items.filter(r => r.kind === kind);
    const by = {};  // class_code -> stage -> rule
    rules.forEach(r => { (by[r.class_code] = by[r.class_code] || {})[r.stage] = r; });
    const classes = Object.keys(by).filter(c => c !== "*").sort();
    // Big classes that only have small-class rules still get a row, to show what their small classes inherit.
    classes.filter(c => c.length === 4).forEach(c => { if (!by[c.slice(0, 2)]) by[c.slice(0, 2)] = {}; });
    const rows = ["*"].concat(Object.keys(by).filter(c => c !== "*").sort());
    const names = refs.classes[kind] || {};
    const effective = (code, stage) => (by[code] && by[code][stage]) ||
      (code.length === 4 && by[code.slice(0, 2)] && by[code.slice(0, 2)][stage]) || (by["*"] && by["*"][stage]);
    $("limits-table").querySelector("tbody").innerHTML = rows.map(code => {
      const level = code === "*" ? "default" : code.length === 2 ? "big" : "small";
      const name = code === "*" ? "默认（全部分类）" : (names[code] || "（字典中无此分类）");
      const cells = STAGES.map(stage => {
        const own = by[code] && by[code][stage];
        const rule = own || effective(code, stage);
        if (!rule) return `<td class="cell inherited" data-code="${code}" data-stage="${stage}">—</td>`;
        const nat = rule.natural_time ? ' <span class="badge text-bg-warning nat">自然时</span>' : "";
        const title = own ? (rule.note || "") + `（预警：剩余 ${Math.round(rule.warn_ratio * 100)}%）` : `继承自 ${rule.class_code === "*" ? "默认" : rule.class_code}`;
        return `<td class="cell${own ? "" : " inherited"}" data-code="${code}" data-stage="${stage}"${own ? ` data-id="${own.id}"` : ""} title="${esc(title)}">${fmtHours(rule.hours)} h${nat}</td>`;
      }).join("");
      return `<tr class="level-${level}" data-code="${code}"><td class="cls">${code === "*" ? "*" : code}</td><td>${esc(name)}</td>${cells}</tr>`;
    }).join("");
  }

  async function load() {
    const p = new URLSearchParams({ kind: $("f-kind").value });
    if ($("f-big").value) p.set("big_class", $("f-big").value);
    const data = await call("GET", `${API}?${p}`);
    state.items = data.items;
    render();
  }

  function editCell(td) {
    if (td.querySelector(".cell-editor")) return;
    const id = td.dataset.id;
    const rule = id ? state.items.find(r => String(r.id) === id) : null;
    const inherited = !rule;
    const shown = td.textContent.replace(/[^0-9.]/g, "");
    td.innerHTML = `<div class="cell-editor"><input class="form-control form-control-sm h" value="${esc(rule ? fmtHours(rule.hours) : shown)}">
      <label class="small"><input type="checkbox" class="nat-box"${rule && rule.natural_time ? " checked" : ""}> 自然时</label><br>
      <button class="btn btn-primary btn-sm py-0 save">${inherited ? "单独设置" : "保存"}</button>
      <button class="btn btn-link btn-sm py-0 cancel">取消</button>${rule && rule.class_code !== "*" ? '<button class="btn btn-link btn-sm py-0 text-danger del">删除</button>' : ""}</div>`;
    const input = td.querySelector("input.h");
    input.focus(); input.select();
    td.querySelector(".cancel").addEventListener("click", ev => { ev.stopPropagation(); render(); });
    td.querySelector(".save").addEventListener("click", async ev => {
      ev.stopPropagation();
      const hours = input.value.trim();
      const natural = td.querySelector(".nat-box").checked;
      try {
        if (rule) {
          await call("PATCH", `${API}/${rule.id}`, { hours, natural_time: natural, version: rule.version });
        } else {
          await call("POST", API, { kind: $("f-kind").value, class_code: td.dataset.code, stage: td.dataset.stage, hours, natural_time: natural });
        }
        toast(`已保存：${td.dataset.code === "*" ? "默认" : td.dataset.code} ${refs.stages[td.dataset.stage]} ${hours} 小时${natural ? "（自然时）" : ""}`);
        await load();
      } catch (e) { toast(e.message, "danger"); }
    });
    const del = td.querySelector(".del");
    if (del) del.addEventListener("click", async ev => {
      ev.stopPropagation();
      if (!confirm(`删除 ${rule.class_code} “${rule.stage_name}”的时限？删除后按上一级规则计算。`)) return;
      try { await call("DELETE", `${API}/${rule.id}`); toast("已删除"); await load(); } catch (e) { toast(e.message, "danger"); }
    });
    input.addEventListener("keydown", ev => { if (ev.key === "Enter") td.querySelector(".save").click(); if (ev.key === "Escape") render(); });
  }

  $("limits-table").addEventListener("click", ev => {
    const td = ev.target.closest("td.cell");
    if (td && !ev.target.closest(".cell-editor")) editCell(td);
  });
  $("f-kind").addEventListener("change", () => { fillBigs(); load().catch(e => toast(e.message, "danger")); });
  $("f-big").addEventListener("change", () => load().catch(e => toast(e.message, "danger")));
  $("btn-new").addEventListener("click", () => { $("new-card").classList.remove("d-none"); $("n-kind").value = $("f-kind").value; fillClassList(); $("n-class").focus(); });
  $("btn-cancel-new").addEventListener("click", () => $("new-card").classList.add("d-none"));
  $("n-kind").addEventListener("change", fillClassList);
  $("new-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    $("new-error").textContent = "";
    const body = { kind: $("n-kind").value, class_code: $("n-class").value.trim(), stage: $("n-stage").value,
                   hours: $("n-hours").value.trim(), natural_time: $("n-natural").checked,
                   warn_ratio: $("n-warn").value.trim(), note: $("n-note").value };
    try {
      const r = await call("POST", API, body);
      $("new-card").classList.add("d-none");
      $("f-kind").value = r.kind; fillBigs();
      toast(`已新增：${r.class_code} ${r.class_name || ""} ${r.stage_name} ${r.hours} 小时`);
      await load();
    } catch (e) { $("new-error").textContent = e.message; }
  });
  fillBigs();
  load().catch(e => toast(e.message, "danger"));
})();
