/* 菜单管理页面：网页端 / 移动端菜单树的查看、新增、修改、移动和删除。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const app = document.getElementById("menus-app");
  const canEdit = app.dataset.canEdit === "1";
  const kinds = JSON.parse(app.dataset.kinds);
  const permissions = JSON.parse(app.dataset.permissions);
  const $ = id => document.getElementById(id);
  const modal = new bootstrap.Modal($("menu-modal"));
  let platform = "web", flat = [], editing = null;

  function walk(nodes, depth, out) {
    for (const n of nodes) { out.push({ ...n, depth }); walk(n.children, depth + 1, out); }
    return out;
  }

  async function load() {
    const data = await call("GET", "/api/admin/menus?platform=" + platform);
    flat = walk(data.tree, 0, []);
    $("menu-table").querySelector("tbody").innerHTML = flat.map(n =>
      `<tr data-id="${n.id}"><td style="padding-left:${0.5 + n.depth * 1.5}rem">${n.kind === "dir" ? "📁 " : n.kind === "button" ? "▫ " : "📄 "}${esc(n.name)}</td>` +
      `<td>${esc(kinds[n.kind])}</td><td><code>${esc(n.endpoint || "")}</code></td>` +
      `<td>${n.permission ? `<span title="${esc(permissions[n.permission] || "")}">${esc(n.permission)}</span>` : ""}</td>` +
      `<td>${n.sort}</td><td>${n.visible ? "是" : "<span class=\"text-muted\">否</span>"}</td><td class="text-nowrap">` +
      (canEdit ? (n.kind !== "button" ? `<button type="button" class="btn btn-link btn-sm p-0 me-2 act-add">添加下级</button>` : "") +
        `<button type="button" class="btn btn-link btn-sm p-0 me-2 act-edit">修改</button>` +
        `<button type="button" class="btn btn-link btn-sm p-0 text-danger act-del">删除</button>` : "") + "</td></tr>").join("");
    $("menu-table").querySelectorAll("tr[data-id]").forEach(tr => {
      const n = flat.find(x => x.id === Number(tr.dataset.id));
      const on = (cls, fn) => { const b = tr.querySelector(cls); if (b) b.addEventListener("click", () => fn(n)); };
      on(".act-add", p => show(null, p.id));
      on(".act-edit", m => show(m, m.parent_id));
      on(".act-del", remove);
    });
  }

  function show(menu, parentId) {
    editing = menu;
    $("menu-modal-title").textContent = menu ? "修改菜单" : "新增菜单";
    $("m-parent").innerHTML = `<option value="">（顶级）</option>` + flat.filter(n => n.kind !== "button" && (!menu || n.id !== menu.id))
      .map(n => `<option value="${n.id}">${"　".repeat(n.depth)}${esc(n.name)}</option>`).join("");
    $("m-parent").value = parentId == null ? "" : String(parentId);
    $("m-kind").innerHTML = Object.entries(kinds).map(([k, v]) => `<option value="${k}">${esc(v)}</option>`).join("");
    $("m-permission").innerHTML = `<option value="">（无）</option>` + Object.entries(permissions).map(([k, v]) => `<option value="${k}">${esc(v)}（${k}）</option>`).join("");
    $("m-name").value = menu ? menu.name : ""; $("m-kind").value = menu ? menu.kind : "page"; $("m-kind").disabled = !!menu;
    $("m-endpoint").value = menu ? menu.endpoint || "" : ""; $("m-permission").value = menu ? menu.permission || "" : "";
    $("m-sort").value = menu ? menu.sort : 100; $("m-icon").value = menu ? menu.icon || "" : ""; $("m-visible").checked = menu ? menu.visible : true;
    $("menu-error").textContent = "";
    modal.show();
  }

  async function remove(n) {
    if (!confirm(`确定删除菜单“${n.name}”吗？`)) return;
    try { await call("DELETE", "/api/admin/menus/" + n.id); toast("菜单已删除"); await load(); } catch (e) { toast(e.message, "danger"); }
  }

  $("menu-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const body = {
      parent_id: $("m-parent").value ? Number($("m-parent").value) : null, name: $("m-name").value,
      endpoint: $("m-endpoint").value || null, permission: $("m-permission").value || null,
      sort: Number($("m-sort").value || 0), icon: $("m-icon").value || null, visible: $("m-visible").checked,
    };
    try {
      if (editing) { body.version = editing.version; await call("PUT", "/api/admin/menus/" + editing.id, body); }
      else { body.kind = $("m-kind").value; body.platform = platform; await call("POST", "/api/admin/menus", body); }
      modal.hide(); toast("菜单已保存"); await load();
    } catch (e) { $("menu-error").textContent = e.message; }
  });

  $("platform-tabs").querySelectorAll("a").forEach(a => a.addEventListener("click", ev => {
    ev.preventDefault();
    $("platform-tabs").querySelectorAll("a").forEach(x => x.classList.toggle("active", x === a));
    platform = a.dataset.platform; load();
  }));
  const nb = $("btn-new-menu");
  if (nb) nb.addEventListener("click", () => show(null, null));
  load();
})();
