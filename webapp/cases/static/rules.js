/* 立案与派遣规则: the auto-registration rules (ordered, first match wins) and
   the responsibility list (权责清单). Everything goes through
   /api/cases/config/… with the session cookie and the CSRF token. */
(function () {
  "use strict";
  const API = "/api/cases/config";
  const refs = JSON.parse(document.getElementById("rules-refs").textContent);
  const { call, esc, toast } = window.AdminKit;  // shared JSON calls with the CSRF token
  const $ = id => document.getElementById(id);
  const sourceName = Object.fromEntries(refs.sources);
  const actionName = Object.fromEntries(refs.actions.map(([k, v]) => [k, v.split("（")[0]]));
  const ruleModal = new bootstrap.Modal($("rule-modal"));
  const entryModal = new bootstrap.Modal($("entry-modal"));
  const state = { rules: [], rule: null, entries: [], entry: null, page: 1, size: 20, total: 0 };

  function classOptions(select, kind, value) {
    const kinds = kind ? [kind] : ["component", "event"];
    let html = '<option value="">任意类别</option>';
    kinds.forEach(k => {
      const label = k === "component" ? "部件" : "事件";
      html += `<optgroup label="${label}">` + refs.classes[k].map(([code, name, parent]) =>
        `<option value="${esc(code)}">${parent ? "　" : ""}${esc(code)} ${esc(name)}${parent ? "" : "（大类）"}</option>`).join("") + "</optgroup>";
    });
    select.innerHTML = html;
    select.value = value || "";
  }

  // ------------------------------------------------------------ rules
  async function loadRules() {
    const p = new URLSearchParams();
    if ($("rf-q").value.trim()) p.set("q", $("rf-q").value.trim());
    ["source", "kind", "enabled"].forEach(k => { if ($("rf-" + k).value) p.set(k, $("rf-" + k).value); });
    try {
      const data = await call("GET", `${API}/rules?${p}`);
      state.rules = data.items;
      renderRules(p.toString() === "");
    } catch (e) { toast(e.message, "danger"); }
  }
  function renderRules(full) {
    const body = $("rules-body");
    if (!state.rules.length) { body.innerHTML = '<tr><td colspan="6" class="text-center text-muted py-3">暂无规则</td></tr>'; return; }
    body.innerHTML = state.rules.map((r, i) => `<tr data-id="${r.id}" class="${r.enabled ? "" : "text-muted"}">
      <td>${i + 1}</td>
      <td><div class="fw-semibold">${esc(r.name)}</div>${r.remark ? `<div class="summary">${esc(r.remark)}</div>` : ""}</td>
      <td class="summary">${esc(r.summary)}</td>
      <td>${r.actions.map(a => `<span class="badge text-bg-info act-badge">${esc(actionName[a] || a)}</span>`).join(" ")}</td>
      <td>${r.enabled ? '<span class="badge text-bg-success">启用</span>' : '<span class="badge text-bg-secondary">停用</span>'}</td>
      <td class="text-end"><div class="btn-group btn-group-sm">
        ${full ? `<button class="btn btn-outline-secondary py-0" data-op="up" title="上移" ${i === 0 ? "disabled" : ""}>↑</button>
        <button class="btn btn-outline-secondary py-0" data-op="down" title="下移" ${i === state.rules.length - 1 ? "disabled" : ""}>↓</button>` : ""}
        <button class="btn btn-outline-primary py-0" data-op="edit">编辑</button>
        <button class="btn btn-outline-${r.enabled ? "warning" : "success"} py-0" data-op="toggle">${r.enabled ? "停用" : "启用"}</button>
        <button class="btn btn-outline-danger py-0" data-op="delete">删除</button></div></td></tr>`).join("");
  }
  function openRule(r) {
    state.rule = r || null;
    $("rule-title").textContent = r ? `编辑立案规则 #${r.id}` : "新增立案规则";
    $("r-name").value = r ? r.name : "";
    document.querySelectorAll("#r-sources input").forEach(cb => { cb.checked = !!r && r.sources.includes(cb.value); });
    $("r-kind").value = r && r.kind ? r.kind : "";
    classOptions($("r-class"), $("r-kind").value, r && r.class_prefix);
    $("r-region").value = r && r.region_prefix ? r.region_prefix : "";
    $("r-from").value = r && r.time_from ? r.time_from : "";
    $("r-to").value = r && r.time_to ? r.time_to : "";
    document.querySelectorAll("#r-actions input").forEach(cb => { cb.checked = r ? r.actions.includes(cb.value) : cb.value === "auto_accept"; });
    $("r-remark").value = r && r.remark ? r.remark : "";
    $("r-enabled").checked = r ? r.enabled : true;
    $("rule-error").classList.add("d-none");
    ruleModal.show();
  }
  $("r-kind").addEventListener("change", () => classOptions($("r-class"), $("r-kind").value, $("r-class").value));
  $("rule-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const body = {
      name: $("r-name").value.trim(),
      sources: [...document.querySelectorAll("#r-sources input:checked")].map(cb => cb.value),
      kind: $("r-kind").value || null, class_prefix: $("r-class").value || null,
      region_prefix: $("r-region").value.trim() || null,
      time_from: $("r-from").value || null, time_to: $("r-to").value || null,
      actions: [...document.querySelectorAll("#r-actions input:checked")].map(cb => cb.value),
      remark: $("r-remark").value.trim() || null, enabled: $("r-enabled").checked
    };
    try {
      if (state.rule) { body.version = state.rule.version; await call("PATCH", `${API}/rules/${state.rule.id}`, body); }
      else { await call("POST", `${API}/rules`, body); }
      ruleModal.hide();
      toast(state.rule ? "规则已保存" : "已新增规则");
      loadRules();
    } catch (e) {
      $("rule-error").textContent = e.message;
      $("rule-error").classList.remove("d-none");
    }
  });
  $("rules-body").addEventListener("click", async ev => {
    const btn = ev.target.closest("button[data-op]");
    if (!btn) return;
    const id = Number(btn.closest("tr").dataset.id);
    const idx = state.rules.findIndex(r => r.id === id);
    const r = state.rules[idx];
    try {
      if (btn.dataset.op === "edit") { openRule(r); return; }
      if (btn.dataset.op === "toggle") {
        await call("PATCH", `${API}/rules/${id}`, { version: r.version, enabled: !r.enabled });
        toast(r.enabled ? "规则已停用" : "规则已启用");
      } else if (btn.dataset.op === "delete") {
        if (!confirm(`确定删除立案规则“${r.name}”？`)) return;
        await call("DELETE", `${API}/rules/${id}?version=${r.version}`);
        toast("规则已删除");
      } else {
        const ids = state.rules.map(x => x.id);
        const j = btn.dataset.op === "up" ? idx - 1 : idx + 1;
        [ids[idx], ids[j]] = [ids[j], ids[idx]];
        await call("POST", `${API}/rules/reorder`, { ids });
        toast("顺序已调整");
      }
    } catch (e) { toast(e.message, "danger"); }
    loadRules();
  });
  $("rule-filter").addEventListener("submit", ev => { ev.preventDefault(); loadRules(); });
  $("btn-new-rule").addEventListener("click", () => openRule(null));

  // ------------------------------------------------------------ responsibility list
  function entryParams() {
    const p = new URLSearchParams();
    if ($("ef-kind").value) p.set("kind", $("ef-kind").value);
    if ($("ef-class").value.trim()) p.set("class_code", $("ef-class").value.trim());
    if ($("ef-area").value.trim()) p.set("area_code", $("ef-area").value.trim());
    if ($("ef-dept").value) p.set("dept_code", $("ef-dept").value);
    if ($("ef-enabled").value) p.set("enabled", $("ef-enabled").value);
    return p;
  }
  async function loadEntries() {
    const p = entryParams();
    $("btn-export").href = `${API}/responsibilities/export.xlsx?${p}`;
    p.set("page", state.page); p.set("size", state.size);
    try {
      const data = await call("GET", `${API}/responsibilities?${p}`);
      state.entries = data.items; state.total = data.total;
      renderEntries();
    } catch (e) { toast(e.message, "danger"); }
  }
  function renderEntries() {
    const body = $("entries-body");
    body.innerHTML = state.entries.length ? state.entries.map(e => `<tr data-id="${e.id}" class="${e.enabled ? "" : "text-muted"}">
      <td>${esc(e.kind_name)}</td>
      <td>${e.class_code ? `<code>${esc(e.class_code)}</code> ` : ""}${esc(e.class_name)}</td>
      <td><span class="badge text-bg-light border">${esc(e.area_level_name)}</span> ${esc(e.area_name || "")}${e.area_code ? `<div class="summary">${esc(e.area_code)}</div>` : ""}</td>
      <td>${esc(e.dept_name || e.dept_code)}</td><td>${esc(e.post || "—")}</td><td>${esc(e.user_name || "—")}</td>
      <td>${e.priority}</td><td class="summary">${e.valid_from || e.valid_to ? `${esc(e.valid_from || "…")} 至 ${esc(e.valid_to || "…")}` : "长期"}</td>
      <td>${e.enabled ? '<span class="badge text-bg-success">启用</span>' : '<span class="badge text-bg-secondary">停用</span>'}</td>
      <td class="text-end"><div class="btn-group btn-group-sm"><button class="btn btn-outline-primary py-0" data-op="edit">编辑</button>
        <button class="btn btn-outline-${e.enabled ? "warning" : "success"} py-0" data-op="toggle">${e.enabled ? "停用" : "启用"}</button>
        <button class="btn btn-outline-danger py-0" data-op="delete">删除</button></div></td></tr>`).join("")
      : '<tr><td colspan="10" class="text-center text-muted py-3">没有符合条件的条目</td></tr>';
    const pages = Math.max(1, Math.ceil(state.total / state.size));
    $("entry-info").textContent = `共 ${state.total} 条，第 ${state.page}/${pages} 页`;
    let html = "";
    for (let i = 1; i <= pages; i++) html += `<li class="page-item${i === state.page ? " active" : ""}"><a class="page-link" href="#" data-page="${i}">${i}</a></li>`;
    $("entry-pager").innerHTML = pages > 1 ? html : "";
  }
  function userOptions(dept, value) {
    $("e-user").innerHTML = '<option value="">不指定</option>' + refs.users.filter(u => u[3] === dept)
      .map(u => `<option value="${u[0]}">${esc(u[2])}（${esc(u[1])}）</option>`).join("");
    $("e-user").value = value ? String(value) : "";
  }
  function openEntry(e) {
    state.entry = e || null;
    $("entry-title").textContent = e ? `编辑权责清单条目 #${e.id}` : "新增权责清单条目";
    $("e-kind").value = e && e.kind ? e.kind : "";
    classOptions($("e-class"), $("e-kind").value, e && e.class_code);
    $("e-area").value = e && e.area_code ? e.area_code : "";
    $("e-dept").value = e ? e.dept_code : "";
    userOptions($("e-dept").value, e && e.user_id);
    $("e-post").value = e && e.post ? e.post : "";
    $("e-priority").value = e ? e.priority : 0;
    $("e-from").value = e && e.valid_from ? e.valid_from : "";
    $("e-to").value = e && e.valid_to ? e.valid_to : "";
    $("e-enabled").checked = e ? e.enabled : true;
    $("e-remark").value = e && e.remark ? e.remark : "";
    $("entry-error").classList.add("d-none");
    entryModal.show();
  }
  $("e-kind").addEventListener("change", () => classOptions($("e-class"), $("e-kind").value, $("e-class").value));
  $("e-dept").addEventListener("change", () => userOptions($("e-dept").value, null));
  $("entry-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const prio = Number($("e-priority").value);
    const body = {
      kind: $("e-kind").value || null, class_code: $("e-class").value || null,
      area_code: $("e-area").value.trim() || null, dept_code: $("e-dept").value || null,
      post: $("e-post").value.trim() || null, user_id: $("e-user").value ? Number($("e-user").value) : null,
      priority: Number.isInteger(prio) ? prio : $("e-priority").value,
      valid_from: $("e-from").value || null, valid_to: $("e-to").value || null,
      enabled: $("e-enabled").checked, remark: $("e-remark").value.trim() || null
    };
    try {
      if (state.entry) { body.version = state.entry.version; await call("PATCH", `${API}/responsibilities/${state.entry.id}`, body); }
      else { await call("POST", `${API}/responsibilities`, body); }
      entryModal.hide();
      toast(state.entry ? "条目已保存" : "已新增条目");
      loadEntries();
    } catch (e) {
      $("entry-error").textContent = e.message;
      $("entry-error").classList.remove("d-none");
    }
  });
  $("entries-body").addEventListener("click", async ev => {
    const btn = ev.target.closest("button[data-op]");
    if (!btn) return;
    const e = state.entries.find(x => x.id === Number(btn.closest("tr").dataset.id));
    try {
      if (btn.dataset.op === "edit") { openEntry(e); return; }
      if (btn.dataset.op === "toggle") {
        await call("PATCH", `${API}/responsibilities/${e.id}`, { version: e.version, enabled: !e.enabled });
        toast(e.enabled ? "条目已停用" : "条目已启用");
      } else if (btn.dataset.op === "delete") {
        if (!confirm(`确定删除权责清单条目 #${e.id}（${e.class_name} → ${e.dept_name}）？`)) return;
        await call("DELETE", `${API}/responsibilities/${e.id}?version=${e.version}`);
        toast("条目已删除");
      }
    } catch (err) { toast(err.message, "danger"); }
    loadEntries();
  });
  $("entry-pager").addEventListener("click", ev => {
    const a = ev.target.closest("a[data-page]");
    if (!a) return;
    ev.preventDefault();
    state.page = Number(a.dataset.page);
    loadEntries();
  });
  $("entry-filter").addEventListener("submit", ev => { ev.preventDefault(); state.page = 1; loadEntries(); });
  $("btn-new-entry").addEventListener("click", () => openEntry(null));
  $("btn-import").addEventListener("click", () => $("import-file").click());
  $("import-file").addEventListener("change", async () => {
    const f = $("import-file").files[0];
    if (!f) return;
    const fd = new FormData();
    fd.append("file", f);
    try {
      const r = await call("POST", `${API}/responsibilities/import`, fd, true);
      toast(`导入完成：新增 ${r.created} 条，更新 ${r.updated} 条`);
      loadEntries();
    } catch (e) {
      const rows = (e.data && e.data.error && e.data.error.details && e.data.error.details.errors) || [];
      toast(e.message + (rows.length > 1 ? `（另有 ${rows.length - 1} 行错误）` : ""), "danger");
    }
    $("import-file").value = "";
  });

  loadRules();
  loadEntries();
})();
