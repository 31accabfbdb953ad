/* 业务指导 — 栏目管理：两级栏目的新增、改名/排序（version 乐观锁）、删除（有子栏目或文章时拒绝）。 */
(function () {
  "use strict";
  const API = "/api/guidance/categories";
  const $ = id => document.getElementById(id);
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  let byCode = {};

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  async function call(method, url, body) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, credentials: "same-origin" };
    if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    const r = await fetch(url, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) throw new Error((data && data.error && data.error.message) || ("请求失败（" + r.status + "）"));
    return data;
  }
  function message(text, kind) {
    $("msg").innerHTML = '<div class="alert alert-' + (kind || "success") + ' py-2">' + esc(text) + "</div>";
  }
  function row(n, depth) {
    byCode[n.code] = n;
    return '<tr data-code="' + esc(n.code) + '"><td>' + (depth ? "　└ " : "<b>") + esc(n.name) + (depth ? "" : "</b>") +
      "</td><td><code>" + esc(n.code) + "</code></td><td>" + n.sort + "</td><td>" + n.count + "</td>" +
      '<td class="text-end"><button class="btn btn-link btn-sm rename">改名/排序</button>' +
      '<button class="btn btn-link btn-sm text-danger delete">删除</button></td></tr>';
  }
  async function load() {
    const data = await call("GET", API);
    byCode = {};
    $("category-table").tBodies[0].innerHTML = data.tree.map(r => row(r, 0) + r.children.map(c => row(c, 1)).join("")).join("");
    $("c-parent").innerHTML = '<option value="">（一级栏目）</option>' +
      data.tree.map(r => '<option value="' + esc(r.code) + '">' + esc(r.name) + "</option>").join("");
  }
  $("category-table").addEventListener("click", async ev => {
    const tr = ev.target.closest("tr[data-code]");
    if (!tr) return;
    const n = byCode[tr.dataset.code];
    try {
      if (ev.target.classList.contains("rename")) {
        const name = prompt("栏目名称", n.name);
        if (name === null) return;
        const sort = prompt("排序号（小的在前）", n.sort);
        if (sort === null) return;
        await call("PATCH", API + "/" + n.code, { name, sort: Number(sort), version: n.version });
        message("已保存栏目“" + name + "”");
      } else if (ev.target.classList.contains("delete")) {
        if (!confirm("确定删除栏目“" + n.name + "”？")) return;
        await call("DELETE", API + "/" + n.code);
        message("已删除栏目“" + n.name + "”");
      } else { return; }
      await load();
    } catch (e) { message(e.message, "danger"); }
  });
  $("new-category").addEventListener("submit", async ev => {
    ev.preventDefault();
    try {
      const c = await call("POST", API, { code: $("c-code").value.trim(), name: $("c-name").value,
        parent_code: $("c-parent").value || null, sort: Number($("c-sort").value || 0) });
      message("已新增栏目“" + c.name + "”");
      $("c-code").value = ""; $("c-name").value = "";
      await load();
    } catch (e) { message(e.message, "danger"); }
  });
  load().catch(e => message(e.message, "danger"));
})();
