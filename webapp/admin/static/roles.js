/* 角色权限页面：角色列表、数据范围、按菜单树勾选权限、角色成员。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const app = document.getElementById("roles-app");
  const canEdit = app.dataset.canEdit === "1";
  const scopes = JSON.parse(app.dataset.scopes);
  const $ = id => document.getElementById(id);
  let roles = [], current = null, permTree = null, userHits = {};

  function renderScopes() {
    $("r-scopes").innerHTML = Object.entries(scopes).map(([k, v]) =>
      `<div class="form-check form-check-inline"><input class="form-check-input" type="radio" name="r-scope" id="scope-${k}" value="${k}">` +
      `<label class="form-check-label" for="scope-${k}">${esc(v)}</label></div>`).join("");
  }

  function permNode(n) {
    const kids = n.children.length ? `<ul>${n.children.map(permNode).join("")}</ul>` : "";
    if (!n.permission) return `<li><div class="perm-dir">${esc(n.name)}</div>${kids}</li>`;
    return `<li><label class="form-check-label"><input type="checkbox" class="form-check-input me-1 perm" value="${esc(n.permission)}">` +
      `${esc(n.name)}<span class="perm-code">${esc(n.permission)}</span></label>${kids}</li>`;
  }

  function renderPermTree() {
    const others = permTree.others.map(o => ({ name: o.name, permission: o.permission, children: [] }));
    $("perm-tree").innerHTML = `<ul>${permTree.menu.map(permNode).join("")}` +
      (others.length ? `<li><div class="perm-dir">其他接口权限</div><ul>${others.map(permNode).join("")}</ul></li>` : "") + "</ul>";
    // Ticking a button ticks its page; unticking a page unticks its buttons.
    $("perm-tree").querySelectorAll("input.perm").forEach(box => box.addEventListener("change", () => {
      const li = box.closest("li");
      if (!box.checked) li.querySelectorAll("ul input.perm").forEach(b => { b.checked = false; });
      else { let up = li.parentElement.closest("li"); while (up) { const b = up.querySelector(":scope > label > input.perm"); if (b) b.checked = true; up = up.parentElement.closest("li"); } }
    }));
  }

  function renderList() {
    $("role-list").innerHTML = roles.map(r =>
      `<a class="list-group-item list-group-item-action${current && current.code === r.code ? " active" : ""}" data-code="${esc(r.code)}">` +
      `<div class="d-flex"><span class="me-auto">${esc(r.name)}</span><span class="badge bg-light text-dark">${r.users} 人</span></div>` +
      `<div class="small opacity-75">${esc(r.code)} · ${esc(r.data_scope_name)}</div></a>`).join("");
    $("role-list").querySelectorAll("a").forEach(a => a.addEventListener("click", () => open(a.dataset.code)));
  }

  async function loadRoles() { roles = (await call("GET", "/api/admin/roles")).items; renderList(); }

  function fill(r) {
    $("role-empty").classList.add("d-none");
    $("role-form").classList.remove("d-none");
    $("role-error").textContent = "";
    $("r-code").value = r.code || ""; $("r-code").disabled = !!r.code_locked;
    $("r-name").value = r.name || ""; $("r-sort").value = r.sort || 0; $("r-remark").value = r.remark || "";
    document.querySelectorAll('input[name="r-scope"]').forEach(x => { x.checked = x.value === (r.data_scope || "own"); });
    const all = (r.permissions || []).includes("*");
    $("perm-tree").querySelectorAll("input.perm").forEach(b => { b.checked = all || (r.permissions || []).includes(b.value); b.disabled = !canEdit || all; });
    $("btn-delete-role").classList.toggle("d-none", !r.code_locked || r.builtin || !canEdit);
    $("members-box").classList.toggle("d-none", !r.code_locked);
    $("btn-save-role").classList.toggle("d-none", !canEdit);
    const m = r.members || [];
    $("member-count").textContent = m.length;
    $("member-table").querySelector("tbody").innerHTML = m.map(u =>
      `<tr><td>${esc(u.username)}</td><td>${esc(u.display_name)}</td><td>${esc(u.dept_code || "")}</td>` +
      `<td>${canEdit ? `<button type="button" class="btn btn-link btn-sm p-0 text-danger member-remove" data-id="${u.id}">移出</button>` : ""}</td></tr>`).join("");
    document.querySelectorAll(".member-remove").forEach(b => b.addEventListener("click", () => members({ remove: [Number(b.dataset.id)] })));
  }

  async function open(code) {
    const r = await call("GET", "/api/admin/roles/" + encodeURIComponent(code));
    r.code_locked = true;
    current = r; renderList(); fill(r);
  }

  async function members(change) {
    try {
      await call("POST", `/api/admin/roles/${encodeURIComponent(current.code)}/members`, change);
      toast(change.add ? "已添加到角色" : "已移出角色");
      await open(current.code); await loadRoles();
    } catch (e) { toast(e.message, "danger"); }
  }

  $("role-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const body = {
      name: $("r-name").value, sort: Number($("r-sort").value || 0), remark: $("r-remark").value,
      data_scope: (document.querySelector('input[name="r-scope"]:checked') || {}).value,
    };
    if (!(current.permissions || []).includes("*")) body.permissions = [...$("perm-tree").querySelectorAll("input.perm:checked")].map(b => b.value);
    try {
      if (current.code_locked) {
        body.updated_at = current.updated_at;
        await call("PUT", "/api/admin/roles/" + encodeURIComponent(current.code), body);
      } else {
        body.code = $("r-code").value.trim();
        await call("POST", "/api/admin/roles", body);
        current = { code: body.code };
      }
      toast("角色已保存");
      await loadRoles(); await open(current.code);
    } catch (e) { $("role-error").textContent = e.message; }
  });

  $("btn-delete-role").addEventListener("click", async () => {
    if (!confirm(`确定删除角色“${current.name}”吗？`)) return;
    try { await call("DELETE", "/api/admin/roles/" + encodeURIComponent(current.code)); toast("角色已删除"); current = null; await loadRoles();
      $("role-form").classList.add("d-none"); $("role-empty").classList.remove("d-none");
    } catch (e) { $("role-error").textContent = e.message; }
  });

  $("member-q").addEventListener("input", async () => {
    const q = $("member-q").value.trim();
    // Choosing an option fills the input with its label: that is a choice, not a new search.
    if (q.length < 1 || userHits[q]) return;
    const res = await call("GET", "/api/admin/users?size=20&q=" + encodeURIComponent(q.split("（")[0]));
    res.items.forEach(u => { userHits[`${u.username}（${u.display_name}）`] = u.id; });
    $("member-options").innerHTML = res.items.map(u => `<option value="${esc(`${u.username}（${u.display_name}）`)}">`).join("");
  });
  $("btn-add-member").addEventListener("click", () => {
    const id = userHits[$("member-q").value];
    if (!id) { toast("请从列表中选择用户", "warning"); return; }
    $("member-q").value = "";
    members({ add: [id] });
  });

  const newBtn = $("btn-new-role");
  if (newBtn) newBtn.addEventListener("click", () => { current = { permissions: [], data_scope: "own" }; renderList(); fill(current); $("r-code").focus(); });
  $("perm-all").addEventListener("click", () => $("perm-tree").querySelectorAll("input.perm:not(:disabled)").forEach(b => { b.checked = true; }));
  $("perm-none").addEventListener("click", () => $("perm-tree").querySelectorAll("input.perm:not(:disabled)").forEach(b => { b.checked = false; }));

  (async () => {
    renderScopes();
    permTree = await call("GET", "/api/admin/permissions");
    renderPermTree();
    await loadRoles();
    const first = new URLSearchParams(location.search).get("role");
    if (first) open(first);
  })();
})();
