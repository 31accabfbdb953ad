/* 用户管理页面：列表、查询、分页、新增/编辑、停用/启用、重置密码、导入导出。
   All writes go to /api/admin/users… with the session cookie and the CSRF token. */
(function () {
  "use strict";
  const API = "/api/admin/users";
  const app = document.getElementById("users-app");
  const canEdit = app.dataset.canEdit === "1";
  const refs = JSON.parse(document.getElementById("users-refs").textContent);
  const roleName = Object.fromEntries(refs.roles.map(r => [r[0], r[1]]));
  const deptName = Object.fromEntries(refs.depts.map(d => [d[0], d[1]]));
  const regionName = Object.fromEntries(refs.regions.map(r => [r[0], r[1]]));
  const { call, esc, toast } = window.AdminKit;  // shared JSON calls with the CSRF token
  const state = { page: 1, size: 15, total: 0, items: [] };
  const $ = id => document.getElementById(id);
  const userModal = new bootstrap.Modal($("user-modal"));
  const infoModal = new bootstrap.Modal($("info-modal"));


  function info(title, html) {
    $("info-title").textContent = title;
    $("info-body").innerHTML = html;
    infoModal.show();
  }

  function filters() {
    const p = new URLSearchParams();
    const q = $("f-q").value.trim();
    if (q) p.set("q", q);
    if ($("f-dept").value) p.set("dept_code", $("f-dept").value);
    if ($("f-role").value) p.set("role", $("f-role").value);
    if ($("f-enabled").value) p.set("enabled", $("f-enabled").value);
    return p;
  }

  function fmtTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    const pad = n => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function row(u) {
    const roles = u.roles.map(c => `<span class="badge text-bg-light border role-badge">${esc(roleName[c] || c)}</span>`).join(" ");
    let status = u.enabled ? '<span class="badge text-bg-success">启用</span>' : '<span class="badge text-bg-secondary">停用</span>';
    if (u.locked) status += ' <span class="badge text-bg-warning" title="连续登录失败被锁定">锁定</span>';
    let ops = "";
    if (canEdit) {
      ops = `<div class="btn-group btn-group-sm"><button class="btn btn-outline-primary py-0" data-op="edit">编辑</button>${
        u.enabled ? '<button class="btn btn-outline-danger py-0" data-op="disable">停用</button>'
                  : '<button class="btn btn-outline-success py-0" data-op="enable">启用</button>'
        }<button class="btn btn-outline-secondary py-0" data-op="reset">重置密码</button></div>`;
    }
    return `<tr data-id="${u.id}" data-username="${esc(u.username)}">
      <td class="fw-semibold">${esc(u.username)}</td><td>${esc(u.display_name)}</td>
      <td class="col-dept">${u.dept_code ? esc(u.dept_name || deptName[u.dept_code] || u.dept_code) : '<span class="text-muted">—</span>'}</td>
      <td class="col-roles">${roles || '<span class="text-muted">—</span>'}</td>
      <td>${u.region_code ? esc(regionName[u.region_code] || u.region_code) : '<span class="text-muted">—</span>'}</td>
      <td>${esc(u.phone || "—")}</td><td>${status}</td><td class="small text-muted">${fmtTime(u.last_login_at)}</td>
      <td class="text-end">${ops}</td></tr>`;
  }

  function pager() {
    const pages = Math.max(1, Math.ceil(state.total / state.size));
    const items = [];
    const add = (p, label, disabled, active) => items.push(
      `<li class="page-item${disabled ? " disabled" : ""}${active ? " active" : ""}"><a class="page-link" href="#" data-page="${p}">${label}</a></li>`);
    add(state.page - 1, "上一页", state.page <= 1, false);
    const from = Math.max(1, state.page - 3), to = Math.min(pages, from + 6);
    for (let p = from; p <= to; p++) add(p, p, false, p === state.page);
    add(state.page + 1, "下一页", state.page >= pages, false);
    $("pager").innerHTML = items.join("");
    $("page-info").textContent = `共 ${state.total} 个用户，第 ${state.page} / ${pages} 页`;
  }

  async function load() {
    const p = filters();
    p.set("page", state.page); p.set("size", state.size);
    app.dataset.loading = "1";
    try {
      const data = await call("GET", API + "?" + p.toString());
      state.total = data.total; state.items = data.items;
      $("users-body").innerHTML = data.items.length ? data.items.map(row).join("")
        : '<tr><td colspan="9" class="text-center text-muted py-4">没有符合条件的用户</td></tr>';
      pager();
    } catch (e) {
      $("users-body").innerHTML = `<tr><td colspan="9" class="text-center text-danger py-4">${esc(e.message)}</td></tr>`;
    } finally {
      app.dataset.loading = "0";
    }
  }

  function openForm(u) {
    $("form-error").classList.add("d-none");
    $("user-modal-title").textContent = u ? `编辑用户：${u.username}` : "新增用户";
    $("u-id").value = u ? u.id : "";
    $("u-version").value = u ? u.version : "";
    $("u-username").value = u ? u.username : "";
    $("u-username").disabled = !!u;
    $("u-display").value = u ? u.display_name : "";
    $("u-dept").value = u && u.dept_code ? u.dept_code : "";
    $("u-region").value = u && u.region_code ? u.region_code : "";
    $("u-phone").value = u && u.phone ? u.phone : "";
    $("u-password").value = "";
    $("password-group").classList.toggle("d-none", !!u);
    document.querySelectorAll("#u-roles input").forEach(cb => { cb.checked = !!u && u.roles.includes(cb.value); });
    userModal.show();
  }

  async function save(ev) {
    ev.preventDefault();
    const id = $("u-id").value;
    const body = {
      display_name: $("u-display").value.trim(),
      dept_code: $("u-dept").value || null,
      region_code: $("u-region").value || null,
      phone: $("u-phone").value.trim() || null,
      roles: Array.from(document.querySelectorAll("#u-roles input:checked")).map(cb => cb.value),
    };
    $("user-save").disabled = true;
    try {
      if (id) {
        body.version = Number($("u-version").value);
        await call("PATCH", `${API}/${id}`, body);
        userModal.hide();
        toast("已保存修改");
      } else {
        body.username = $("u-username").value.trim();
        if ($("u-password").value) body.password = $("u-password").value;
        const u = await call("POST", API, body);
        userModal.hide();
        if (u.temporary_password) {
          info("用户已创建", `<p>用户 <b>${esc(u.username)}</b> 已创建。临时密码（只显示这一次，请转告本人并提醒其登录后修改）：</p>
            <p class="fs-4 font-monospace text-center user-select-all" id="temp-password">${esc(u.temporary_password)}</p>`);
        } else {
          toast(`用户 ${u.username} 已创建`);
        }
      }
      await load();
    } catch (e) {
      $("form-error").textContent = e.message;
      $("form-error").classList.remove("d-none");
    } finally {
      $("user-save").disabled = false;
    }
  }

  async function onRowAction(ev) {
    const btn = ev.target.closest("button[data-op]");
    if (!btn) return;
    const tr = btn.closest("tr");
    const id = tr.dataset.id, username = tr.dataset.username;
    try {
      if (btn.dataset.op === "edit") {
        openForm(await call("GET", `${API}/${id}`));
      } else if (btn.dataset.op === "disable") {
        if (!confirm(`确定停用用户“${username}”？停用后该用户无法登录。`)) return;
        await call("POST", `${API}/${id}/disable`);
        toast(`已停用 ${username}`); await load();
      } else if (btn.dataset.op === "enable") {
        await call("POST", `${API}/${id}/enable`);
        toast(`已启用 ${username}`); await load();
      } else if (btn.dataset.op === "reset") {
        if (!confirm(`确定重置用户“${username}”的密码？将生成新的临时密码并解除锁定。`)) return;
        const r = await call("POST", `${API}/${id}/reset-password`, {});
        info("密码已重置", `<p>用户 <b>${esc(username)}</b> 的新临时密码（只显示这一次）：</p>
          <p class="fs-4 font-monospace text-center user-select-all" id="temp-password">${esc(r.temporary_password)}</p>`);
        await load();
      }
    } catch (e) {
      toast(e.message, "danger");
      if (e.status === 409) await load();
    }
  }

  async function onImport() {
    const file = $("import-file").files[0];
    if (!file) return;
    const fd = new FormData();
    fd.append("file", file);
    $("import-file").value = "";
    try {
      const r = await call("POST", `${API}/import`, fd, true);
      let html = `<p>导入完成：新增 ${r.created} 个，更新 ${r.updated} 个，未变化 ${r.unchanged} 个。</p>`;
      if (r.passwords.length) {
        html += '<p>新用户的临时密码（只显示这一次）：</p><table class="table table-sm"><thead><tr><th>用户名</th><th>临时密码</th></tr></thead><tbody>'
          + r.passwords.map(p => `<tr><td>${esc(p.username)}</td><td class="font-monospace">${esc(p.temporary_password)}</td></tr>`).join("")
          + "</tbody></table>";
      }
      info("导入结果", html);
      state.page = 1; await load();
    } catch (e) {
      let html = `<p class="text-danger">${esc(e.message.split("。")[0])}。</p>`;
      const errs = e.data && e.data.error && e.data.error.details && e.data.error.details.errors;
      if (errs && errs.length) html += "<ul class=\"small\">" + errs.map(x => `<li>${esc(x.message)}</li>`).join("") + "</ul>";
      else if (e.message.includes("。")) html = `<p class="text-danger">${esc(e.message)}</p>`;
      info("导入失败，未做任何修改", html);
    }
  }

  $("search-form").addEventListener("submit", ev => { ev.preventDefault(); state.page = 1; load(); });
  $("search-form").addEventListener("reset", () => setTimeout(() => { state.page = 1; load(); }, 0));
  $("pager").addEventListener("click", ev => {
    const a = ev.target.closest("a[data-page]");
    if (!a) return;
    ev.preventDefault();
    if (a.parentElement.classList.contains("disabled")) return;
    state.page = Number(a.dataset.page); load();
  });
  $("btn-export").addEventListener("click", ev => {
    ev.preventDefault();
    const q = filters().toString();
    window.location.href = `${API}/export.xlsx${q ? "?" + q : ""}`;
  });
  $("users-body").addEventListener("click", onRowAction);
  $("user-form").addEventListener("submit", save);
  if (canEdit) {
    $("btn-new-user").addEventListener("click", () => openForm(null));
    $("btn-import").addEventListener("click", () => $("import-file").click());
    $("import-file").addEventListener("change", onImport);
  }
  load();
})();
