/* 业务指导 — 文章编辑：新建/保存（带 version 乐观锁）、发布、撤回、删除草稿、附件上传与删除。
   All writes go to /api/guidance/… with the session cookie and the CSRF token. */
(function () {
  "use strict";
  const API = "/api/guidance";
  const $ = id => document.getElementById(id);
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  const STATUS = { draft: "草稿", published: "已发布", withdrawn: "已撤回" };
  const state = { id: $("editor").dataset.id ? Number($("editor").dataset.id) : null, article: null };

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  async function call(method, url, body, isForm) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      if (isForm) { opts.body = body; } else { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    }
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

  function message(text, kind) {
    $("msg").innerHTML = '<div class="alert alert-' + (kind || "success") + ' py-2">' + esc(text) + "</div>";
  }

  function checked(fieldset) {
    return Array.from(document.querySelectorAll("#" + fieldset + " input[type=checkbox]:checked")).map(i => i.value);
  }

  function setChecked(fieldset, values) {
    const set = new Set(values || []);
    document.querySelectorAll("#" + fieldset + " input[type=checkbox]").forEach(i => { i.checked = set.has(i.value); });
  }

  function formData() {
    return {
      title: $("f-title").value, category_code: $("f-category").value, source: $("f-source").value,
      doc_no: $("f-doc-no").value, effective_date: $("f-effective").value || null, dept_code: $("f-dept").value || null,
      summary: $("f-summary").value, body: $("f-body").value, pinned: $("f-pinned").checked,
      visible_roles: checked("f-roles"), visible_regions: checked("f-regions"),
    };
  }

  function show(a) {
    state.article = a; state.id = a.id;
    $("f-title").value = a.title || ""; $("f-category").value = a.category_code || "";
    $("f-source").value = a.source || ""; $("f-doc-no").value = a.doc_no || "";
    $("f-effective").value = a.effective_date || ""; $("f-dept").value = a.dept_code || "";
    $("f-summary").value = a.summary || ""; $("f-body").value = a.body || ""; $("f-pinned").checked = !!a.pinned;
    setChecked("f-roles", a.visible_roles); setChecked("f-regions", a.visible_regions);
    $("status-badge").textContent = STATUS[a.status] + " · 版本 " + a.version;
    $("status-badge").className = "badge me-auto text-bg-" + ({ draft: "secondary", published: "success", withdrawn: "warning" }[a.status]);
    $("editor-title").textContent = "编辑文章";
    $("btn-save").textContent = a.status === "draft" ? "保存草稿" : "保存修改";
    $("btn-publish").classList.toggle("d-none", a.status === "published");
    $("btn-withdraw").classList.toggle("d-none", a.status !== "published");
    $("btn-delete").classList.toggle("d-none", a.status !== "draft");
    $("btn-view").classList.remove("d-none");
    $("btn-view").href = "/guidance/articles/" + a.id;
    $("f-file").disabled = false; $("btn-upload").disabled = false;
    $("attach-hint").textContent = "允许图片、文档和音视频；大小和类型上限见系统设置。";
    $("attachment-list").innerHTML = (a.attachments || []).map(x =>
      '<li class="mb-1" data-id="' + x.id + '"><a href="' + esc(x.url) + '">' + esc(x.filename) + "</a> " +
      '<small class="text-muted">' + (x.size / 1024).toFixed(1) + " KB</small> " +
      '<button type="button" class="btn btn-link btn-sm text-danger p-0 ms-2 del-att" data-id="' + x.id + '">删除</button></li>').join("");
  }

  async function save() {
    const body = formData();
    let a;
    if (state.id) {
      body.version = state.article.version;
      a = await call("PATCH", API + "/articles/" + state.id, body);
    } else {
      a = await call("POST", API + "/articles", body);
      history.replaceState(null, "", "/guidance/articles/" + a.id + "/edit");
    }
    show(a);
    return a;
  }

  function guard(fn) {
    return async function (ev) {
      try { await fn(ev); } catch (e) {
        message(e.message + (e.status === 409 && e.data && e.data.error.code === "version_conflict" ? "（可刷新页面载入最新内容）" : ""), "danger");
      }
    };
  }

  $("btn-save").addEventListener("click", guard(async () => { await save(); message("已保存"); }));
  $("btn-publish").addEventListener("click", guard(async () => {
    const a = await save();
    show(await call("POST", API + "/articles/" + a.id + "/publish", { version: a.version }));
    message("已发布");
  }));
  $("btn-withdraw").addEventListener("click", guard(async () => {
    if (!confirm("确定撤回这篇文章？撤回后普通用户将看不到它。")) return;
    show(await call("POST", API + "/articles/" + state.id + "/withdraw", { version: state.article.version }));
    message("已撤回", "warning");
  }));
  $("btn-delete").addEventListener("click", guard(async () => {
    if (!confirm("确定删除这篇草稿？删除后不能恢复。")) return;
    await call("DELETE", API + "/articles/" + state.id);
    location.href = "/guidance/";
  }));
  $("btn-upload").addEventListener("click", guard(async () => {
    const file = $("f-file").files[0];
    if (!file) { message("请选择要上传的文件", "warning"); return; }
    const fd = new FormData();
    fd.append("file", file);
    const att = await call("POST", API + "/articles/" + state.id + "/attachments", fd, true);
    $("f-file").value = "";
    show(await call("GET", API + "/articles/" + state.id));
    message("已上传附件：" + att.filename);
  }));
  $("attachment-list").addEventListener("click", guard(async ev => {
    const btn = ev.target.closest(".del-att");
    if (!btn || !confirm("确定删除这个附件？")) return;
    await call("DELETE", API + "/attachments/" + btn.dataset.id);
    show(await call("GET", API + "/articles/" + state.id));
    message("已删除附件");
  }));

  if (state.id) {
    guard(async () => show(await call("GET", API + "/articles/" + state.id)))();
  }
})();
