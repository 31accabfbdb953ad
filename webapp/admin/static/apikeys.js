/* API 密钥：签发（只显示一次）、停用与启用。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const $ = id => document.getElementById(id);
  const canEdit = $("apikeys-app").dataset.canEdit === "1";
  let userIds = {};
  const fmt = t => t ? new Date(t).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }).slice(0, 16) : "长期";

  async function load() {
    const items = (await call("GET", "/api/admin/api-keys")).items;
    $("key-table").querySelector("tbody").innerHTML = items.map(k =>
      `<tr data-key="${esc(k.key_id)}"><td><code>${esc(k.key_id)}</code></td><td>${esc(k.name)}</td><td>${esc(k.user || "")}</td>` +
      `<td>${fmt(k.expires_at)}</td><td>${k.enabled ? (k.expired ? '<span class="badge bg-secondary">已过期</span>' : '<span class="badge bg-success">启用</span>') : '<span class="badge bg-danger">停用</span>'}</td>` +
      `<td>${fmt(k.created_at)}</td><td>${canEdit ? `<button type="button" class="btn btn-link btn-sm p-0 toggle">${k.enabled ? "停用" : "启用"}</button>` : ""}</td></tr>`).join("") ||
      '<tr><td colspan="7" class="text-muted">尚未签发密钥</td></tr>';
    document.querySelectorAll("#key-table .toggle").forEach(b => b.addEventListener("click", async () => {
      const id = b.closest("tr").dataset.key;
      try { await call("PATCH", "/api/admin/api-keys/" + id, { enabled: b.textContent === "启用" }); toast("已更新（最多 60 秒内生效）"); load(); }
      catch (e) { toast(e.message, "danger"); }
    }));
  }

  if (canEdit) {
    $("k-user").addEventListener("input", async () => {
      const q = $("k-user").value.trim();
      if (!q || userIds[q]) return;  // a chosen option, not a new search
      const res = await call("GET", "/api/admin/users?size=20&q=" + encodeURIComponent(q.split("（")[0]));
      res.items.forEach(u => { userIds[`${u.username}（${u.display_name}）`] = u.id; });
      $("k-users").innerHTML = res.items.map(u => `<option value="${esc(`${u.username}（${u.display_name}）`)}">`).join("");
    });
    $("key-form").addEventListener("submit", async ev => {
      ev.preventDefault();
      $("key-error").textContent = "";
      const body = { name: $("k-name").value, user_id: userIds[$("k-user").value] };
      if (!body.user_id) { $("key-error").textContent = "请从列表中选择绑定用户"; return; }
      if ($("k-expires").value) body.expires_at = $("k-expires").value + "T23:59:59+08:00";
      try {
        const k = await call("POST", "/api/admin/api-keys", body);
        $("new-key-value").textContent = k.key; $("new-key").classList.remove("d-none");
        load();
      } catch (e) { $("key-error").textContent = e.message; }
    });
  }
  load();
})();
