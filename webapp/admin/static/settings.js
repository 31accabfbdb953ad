/* 系统设置页面：站点信息、上传限制、密码与会话规则、Logo 与登录背景。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const app = document.getElementById("settings-app");
  const canEdit = app.dataset.canEdit === "1";
  const $ = id => document.getElementById(id);
  let items = [];

  function input(it) {
    const id = "s-" + it.key.replace(/\./g, "-");
    const dis = canEdit ? "" : " disabled";
    if (it.kind === "int") return `<input class="form-control form-control-sm" type="number" id="${id}" min="${it.minimum}" max="${it.maximum}" value="${esc(it.value)}"${dis}>`;
    if (it.kind === "list") return `<input class="form-control form-control-sm" id="${id}" value="${esc((it.value || []).join(", "))}"${dis}>`;
    return `<input class="form-control form-control-sm" id="${id}" maxlength="120" value="${esc(it.value)}"${dis}>`;
  }

  function render() {
    const groups = {};
    items.filter(i => i.kind !== "file").forEach(i => (groups[i.group] = groups[i.group] || []).push(i));
    $("settings-groups").innerHTML = Object.entries(groups).map(([g, list]) =>
      `<fieldset class="border rounded p-3 mb-3"><legend class="float-none w-auto px-2 h6 mb-0">${esc(g)}</legend>` +
      list.map(it => `<div class="row mb-2 align-items-center"><label class="col-sm-5 col-form-label col-form-label-sm" for="s-${it.key.replace(/\./g, "-")}">${esc(it.label)}` +
        (it.customised ? ` <span class="badge bg-info-subtle text-info-emphasis" title="${esc(it.updated_by || "")} ${esc(it.updated_at || "")}">已修改</span>` : "") +
        `</label><div class="col-sm-7">${input(it)}</div></div>`).join("") + "</fieldset>").join("");
    for (const kind of ["logo", "login_background"]) {
      const it = items.find(i => i.key === (kind === "logo" ? "site.logo" : "site.login_background"));
      const img = $("preview-" + kind);
      img.classList.toggle("d-none", !it.value); $("none-" + kind).classList.toggle("d-none", !!it.value);
      if (it.value) img.src = `/branding/${kind}?v=${it.value.sha256.slice(0, 8)}`;
    }
  }

  async function load() { items = (await call("GET", "/api/admin/settings")).items; render(); }

  $("settings-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const body = {};
    for (const it of items) {
      if (it.kind === "file") continue;
      const raw = $("s-" + it.key.replace(/\./g, "-")).value.trim();
      let v = raw;
      if (it.kind === "int") v = raw === "" ? null : Number(raw);
      if (it.kind === "list") v = raw.split(/[,，\s]+/).filter(Boolean);
      if (JSON.stringify(v) !== JSON.stringify(it.value)) body[it.key] = v;
    }
    $("settings-error").textContent = "";
    if (!Object.keys(body).length) { toast("没有修改", "secondary"); return; }
    try { items = (await call("PUT", "/api/admin/settings", body)).items; render(); toast("设置已保存并生效"); }
    catch (e) { $("settings-error").textContent = e.message; }
  });

  document.querySelectorAll(".btn-upload").forEach(b => b.addEventListener("click", async () => {
    const f = $("file-" + b.dataset.kind).files[0];
    if (!f) { toast("请先选择图片", "warning"); return; }
    const fd = new FormData(); fd.append("file", f);
    try { await call("POST", "/api/admin/settings/files/" + b.dataset.kind, fd, true); toast("图片已上传"); await load(); }
    catch (e) { toast(e.message, "danger"); }
  }));
  document.querySelectorAll(".btn-reset").forEach(b => b.addEventListener("click", async () => {
    try { await call("DELETE", "/api/admin/settings/files/" + b.dataset.kind); toast("已恢复默认"); await load(); }
    catch (e) { toast(e.message, "danger"); }
  }));
  load();
})();
