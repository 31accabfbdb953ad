/* 疑难案件条件: list, add, edit, enable/disable and delete the conditions. */
(function () {
  "use strict";
  const { esc, call, toast } = window.Difficult;
  const API = "/api/cases/difficult/rules";
  const $ = id => document.getElementById(id);
  const modal = new bootstrap.Modal($("rule-modal"));
  let rules = [], current = null;

  async function load() {
    try { rules = (await call("GET", API)).items; render(); } catch (e) { toast(e.message, "danger"); }
  }
  function render() {
    $("rules-body").innerHTML = rules.map((r, i) => `<tr data-i="${i}" class="${r.enabled ? "" : "text-muted"}">
      <td>${r.sort}</td><td class="fw-semibold">${esc(r.name)}${r.remark ? `<div class="small text-muted">${esc(r.remark)}</div>` : ""}</td>
      <td>${esc(r.summary)}</td><td>${esc(r.type_name)}</td>
      <td>${r.enabled ? '<span class="badge text-bg-success">启用</span>' : '<span class="badge text-bg-secondary">停用</span>'}</td>
      <td class="text-end"><div class="btn-group btn-group-sm"><button class="btn btn-outline-primary py-0" data-op="edit">编辑</button>
        <button class="btn btn-outline-${r.enabled ? "warning" : "success"} py-0" data-op="toggle">${r.enabled ? "停用" : "启用"}</button>
        <button class="btn btn-outline-danger py-0" data-op="delete">删除</button></div></td></tr>`).join("") ||
      '<tr><td colspan="6" class="text-center text-muted py-3">暂无条件</td></tr>';
  }
  function kindChanged() {
    const classes = $("r-kind").value === "classes";
    $("wrap-classes").classList.toggle("d-none", !classes);
    $("wrap-threshold").classList.toggle("d-none", classes);
  }
  function open(r) {
    current = r;
    $("rule-title").textContent = r ? "编辑条件" : "新增条件";
    $("r-name").value = r ? r.name : "";
    $("r-kind").value = r ? r.kind : "returns_depts";
    $("r-threshold").value = r && r.threshold != null ? r.threshold : "";
    $("r-classes").value = r ? r.class_codes.join(", ") : "";
    $("r-type").value = r ? r.type_code : $("r-type").options[0].value;
    $("r-sort").value = r ? r.sort : "";
    $("r-enabled").checked = r ? r.enabled : true;
    $("r-remark").value = r ? (r.remark || "") : "";
    $("rule-error").classList.add("d-none");
    kindChanged();
    modal.show();
  }
  $("r-kind").addEventListener("change", kindChanged);
  $("btn-new").addEventListener("click", () => open(null));
  $("rule-form").addEventListener("submit", async e => {
    e.preventDefault();
    const body = { name: $("r-name").value, kind: $("r-kind").value, type_code: $("r-type").value,
      enabled: $("r-enabled").checked, remark: $("r-remark").value };
    if (body.kind === "classes") body.class_codes = $("r-classes").value.split(/[,，\s]+/).filter(Boolean);
    else body.threshold = $("r-threshold").value === "" ? null : Number($("r-threshold").value);
    if ($("r-sort").value !== "") body.sort = parseInt($("r-sort").value, 10);
    try {
      if (current) await call("PUT", `${API}/${current.id}`, { ...body, version: current.version });
      else await call("POST", API, body);
      modal.hide(); toast("已保存"); load();
    } catch (err) { const el = $("rule-error"); el.textContent = err.message; el.classList.remove("d-none"); }
  });
  $("rules-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-op]");
    if (!b) return;
    const r = rules[+b.closest("tr").dataset.i];
    try {
      if (b.dataset.op === "edit") return open(r);
      if (b.dataset.op === "toggle") await call("PUT", `${API}/${r.id}`, { enabled: !r.enabled, version: r.version });
      if (b.dataset.op === "delete") {
        if (!window.confirm(`删除条件“${r.name}”？`)) return;
        await call("DELETE", `${API}/${r.id}`);
      }
      toast("已更新"); load();
    } catch (err) { toast(err.message, "danger"); }
  });
  load();
})();
