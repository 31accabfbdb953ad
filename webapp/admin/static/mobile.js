/* 移动端管理页面：应用版本列表与筛选、上传安装包（草稿）、发布、撤回、删除草稿、下载。
   Calls /api/admin/mobile/versions… with the session cookie and the CSRF token. */
(function () {
  "use strict";
  const API = "/api/admin/mobile/versions";
  const $ = id => document.getElementById(id);
  const canEdit = $("mobile-app").dataset.canEdit === "1";
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  const BADGE = { draft: "text-bg-secondary", published: "text-bg-success", withdrawn: "text-bg-warning" };
  const uploadModal = canEdit ? new bootstrap.Modal($("upload-modal")) : null;
  let items = [];

  const esc = s => String(s == null ? "" : s).replace(/[&<>"']/g,
    c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  async function call(method, url, body) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, credentials: "same-origin" };
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    const r = await fetch(url, opts);
    if (r.status === 204) return null;
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const msg = (data && data.error && data.error.message) ||
        (r.status === 413 ? "安装包超过大小上限" : "请求失败（" + r.status + "）");
      const err = new Error(msg);
      err.status = r.status;
      throw err;
    }
    return data;
  }

  function toast(msg, kind) {
    const el = document.createElement("div");
    el.className = "alert alert-" + (kind || "success") + " shadow-sm py-2";
    el.textContent = msg;
    $("app-toast").appendChild(el);
    setTimeout(() => el.remove(), 5000);
  }

  function fmtTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso), p = n => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  function fmtSize(n) {
    return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB";
  }

  function ops(v) {
    let html = `<div class="btn-group btn-group-sm"><a class="btn btn-outline-secondary py-0" href="${API}/${v.id}/package">下载</a>`;
    if (canEdit) {
      if (v.status !== "published") html += `<button class="btn btn-outline-success py-0" data-op="publish">发布</button>`;
      if (v.status === "published") html += `<button class="btn btn-outline-warning py-0" data-op="withdraw">撤回</button>`;
      html += `<button class="btn btn-outline-primary py-0" data-op="force">${v.force_update ? "取消强制" : "设为强制"}</button>`;
      if (v.status === "draft") html += `<button class="btn btn-outline-danger py-0" data-op="delete">删除</button>`;
    }
    return html + "</div>";
  }

  function query() {
    const p = new URLSearchParams({ size: "200" });
    for (const [id, name] of [["q-app", "app_code"], ["q-platform", "platform"], ["q-status", "status"]]) {
      if ($(id).value) p.set(name, $(id).value);
    }
    return p;
  }

  async function load() {
    const body = $("app-body");
    try {
      const data = await call("GET", `${API}?${query()}`);
      items = data.items;
      body.innerHTML = items.length ? items.map(v => `<tr data-id="${v.id}">
          <td>${esc(v.app_name)}</td><td>${esc(v.platform_name)}</td><td class="fw-semibold">${esc(v.version_name)}</td>
          <td>${v.version_code}</td>
          <td class="small"><span title="SHA-256 ${esc(v.package_sha256)}">${esc(v.package_name)}</span><br><span class="text-muted">${fmtSize(v.package_size)}</span></td>
          <td class="notes">${esc(v.release_notes)}</td>
          <td>${v.force_update ? '<span class="badge text-bg-danger">强制</span>' : "否"}${v.min_supported_code ? `<br><span class="small text-muted">最低 ${v.min_supported_code}</span>` : ""}</td>
          <td><span class="badge ${BADGE[v.status] || ""}">${esc(v.status_name)}</span></td>
          <td class="small">${fmtTime(v.published_at)}</td>
          <td class="text-end">${ops(v)}</td></tr>`).join("")
        : `<tr><td colspan="10" class="text-center text-muted py-4">没有符合条件的版本</td></tr>`;
      $("app-info").textContent = `共 ${data.total} 个版本`;
    } catch (e) {
      body.innerHTML = `<tr><td colspan="10" class="text-danger py-3">${esc(e.message)}</td></tr>`;
    }
  }

  async function act(id, op) {
    const v = items.find(x => x.id === id);
    if (!v) return;
    const label = `${v.app_name} ${v.platform_name} ${v.version_name}`;
    try {
      if (op === "publish") {
        if (!confirm(`确定发布 ${label}？发布后移动端检查更新即可获取。`)) return;
        await call("POST", `${API}/${id}/publish`);
        toast(`已发布 ${label}`);
      } else if (op === "withdraw") {
        if (!confirm(`确定撤回 ${label}？撤回后移动端不再提示更新到此版本。`)) return;
        await call("POST", `${API}/${id}/withdraw`);
        toast(`已撤回 ${label}`);
      } else if (op === "force") {
        await call("PATCH", `${API}/${id}`, { force_update: !v.force_update, version: v.version });
        toast(v.force_update ? `已取消 ${label} 的强制更新` : `已将 ${label} 设为强制更新`);
      } else if (op === "delete") {
        if (!confirm(`确定删除草稿 ${label}？`)) return;
        await call("DELETE", `${API}/${id}`);
        toast(`已删除草稿 ${label}`);
      }
      await load();
    } catch (e) {
      toast(e.message, "danger");
    }
  }

  $("app-body").addEventListener("click", ev => {
    const btn = ev.target.closest("button[data-op]");
    if (!btn) return;
    act(Number(btn.closest("tr").dataset.id), btn.dataset.op);
  });
  $("app-filter").addEventListener("submit", ev => { ev.preventDefault(); load(); });
  $("app-filter").addEventListener("reset", () => setTimeout(load, 0));

  if (canEdit) {
    $("btn-upload").addEventListener("click", () => {
      $("upload-form").reset();
      $("upload-error").classList.add("d-none");
      uploadModal.show();
    });
    $("upload-form").addEventListener("submit", async ev => {
      ev.preventDefault();
      const errBox = $("upload-error");
      errBox.classList.add("d-none");
      if (!$("u-file").files.length) {
        errBox.textContent = "请选择安装包";
        errBox.classList.remove("d-none");
        return;
      }
      const fd = new FormData();
      fd.append("app_code", $("u-app").value);
      fd.append("platform", $("u-platform").value);
      fd.append("version_name", $("u-name").value.trim());
      fd.append("version_code", $("u-code").value.trim());
      fd.append("release_notes", $("u-notes").value);
      fd.append("force_update", $("u-force").checked ? "true" : "false");
      fd.append("min_supported_code", $("u-min").value.trim() || "0");
      fd.append("file", $("u-file").files[0]);
      $("upload-submit").disabled = true;
      try {
        const v = await call("POST", API, fd);
        uploadModal.hide();
        toast(`已上传 ${v.app_name} ${v.version_name}（草稿），请核对后发布`);
        await load();
      } catch (e) {
        errBox.textContent = e.message;
        errBox.classList.remove("d-none");
      } finally {
        $("upload-submit").disabled = false;
      }
    });
  }

  load();
})();
