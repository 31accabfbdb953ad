/* 风险配置 (R106–R108): category tree with hazard types, the four levels
   (names, colours, D thresholds; the server refuses unordered thresholds)
   and the responsibility list. */
(function () {
  "use strict";
  const R = window.Risk, $ = id => document.getElementById(id);
  let cfg = null, respPage = 1, respTotal = 0;

  async function reload() {
    cfg = await R.call("GET", "/api/lifeline/risk/config");
    const byParent = {};
    cfg.categories.forEach(c => { (byParent[c.parent_code || ""] = byParent[c.parent_code || ""] || []).push(c); });
    function walk(parent) {
      return (byParent[parent] || []).map(c => '<li data-code="' + R.esc(c.code) + '"><b>' + R.esc(c.name) + "</b> <small class=\"text-muted\">" +
        R.esc(c.code) + (c.point_count ? "，" + c.point_count + " 个风险点" : "") + (c.enabled ? "" : "，已停用") + "</small>" +
        (c.hazards.length ? '<div class="ms-2">' + c.hazards.map(h => '<span class="badge text-bg-light border me-1" data-hazard="' + h.id + '">' +
          R.esc(h.name) + "</span>").join("") + "</div>" : "") +
        (byParent[c.code] ? "<ul>" + walk(c.code) + "</ul>" : "") + "</li>").join("");
    }
    $("cat-tree").innerHTML = walk("");
    R.categoryOptions($("c-parent"), cfg, { all: "（顶级）" });
    R.categoryOptions($("h-cat"), cfg, {});
    R.categoryOptions($("r-cat"), cfg, { leavesOnly: true });
    fillHazards();
    $("levels-table").querySelector("tbody").innerHTML = cfg.levels.map(r => '<tr data-level="' + r.level + '"><td>' + r.level +
      '</td><td><input class="form-control form-control-sm" name="name" value="' + R.esc(r.name) + '" maxlength="20"></td>' +
      '<td><input type="color" class="form-control form-control-sm form-control-color" name="colour" value="' + r.colour + '"></td>' +
      '<td><input class="form-control form-control-sm" name="colour_name" value="' + R.esc(r.colour_name) + '" maxlength="4"></td>' +
      '<td>' + (r.level === 4 ? '<span class="text-muted">低于三级下限</span>' : '<input class="form-control form-control-sm" name="min_d" type="number" step="0.01" value="' + r.min_d + '">') +
      '</td><td>' + (r.level === 4 ? "" : '<input class="form-check-input" type="checkbox" name="min_inclusive"' + (r.min_inclusive ? " checked" : "") + ">") +
      "</td></tr>").join("");
  }
  function fillHazards() {
    const cat = cfg.categories.find(c => c.code === $("r-cat").value);
    $("r-hazard").innerHTML = '<option value="">（整个类别）</option>' + (cat ? cat.hazards : []).map(h =>
      '<option value="' + h.id + '">' + R.esc(h.name) + "</option>").join("");
  }
  async function loadResp() {
    const d = await R.call("GET", "/api/lifeline/risk/resp?page=" + respPage + "&size=15");
    respTotal = d.total;
    if (!$("r-grid").options.length) {
      $("r-grid").innerHTML = d.grids.map(g => '<option value="' + R.esc(g.code) + '">' + R.esc(g.name) + "</option>").join("");
    }
    $("resp-table").querySelector("tbody").innerHTML = d.items.map(r => "<tr><td>" + R.esc(r.category_name) + "</td><td>" +
      R.esc(r.hazard_name || "（整个类别）") + "</td><td>" + R.esc(r.resp_grid_name) + "</td><td>" + R.esc(r.dept_name) + "</td><td>" +
      R.esc(r.person || "") + "</td><td>" + R.esc(r.phone || "") + '</td><td><button class="btn btn-link btn-sm p-0 text-danger" data-del="' +
      r.id + '" type="button">删除</button></td></tr>').join("");
    $("resp-total").textContent = "共 " + d.total + " 条，第 " + respPage + " 页";
    document.querySelectorAll("[data-del]").forEach(b => b.addEventListener("click", async () => {
      if (!confirm("删除这条权责条目？")) { return; }
      try { await R.call("DELETE", "/api/lifeline/risk/resp/" + b.dataset.del); loadResp(); } catch (e) { R.toast(e.message, "danger"); }
    }));
  }
  $("r-cat").addEventListener("change", fillHazards);
  $("cat-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    try {
      await R.call("POST", "/api/lifeline/risk/categories", { code: $("c-code").value, name: $("c-name").value, parent_code: $("c-parent").value || null });
      R.toast("已新增类别"); $("cat-form").reset(); reload();
    } catch (e) { R.toast(e.message, "danger"); }
  });
  $("hz-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    try {
      await R.call("POST", "/api/lifeline/risk/hazards", { category_code: $("h-cat").value, name: $("h-name").value });
      R.toast("已新增隐患类型"); $("h-name").value = ""; reload();
    } catch (e) { R.toast(e.message, "danger"); }
  });
  $("levels-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const rows = Array.from(document.querySelectorAll("#levels-table tr[data-level]")).map(tr => {
      const lv = +tr.dataset.level, q = n => tr.querySelector('[name="' + n + '"]');
      const cur = cfg.levels.find(r => r.level === lv);
      return { level: lv, name: q("name").value, colour: q("colour").value, colour_name: q("colour_name").value,
               min_d: lv === 4 ? null : (q("min_d").value === "" ? null : parseFloat(q("min_d").value)),
               min_inclusive: lv === 4 ? false : q("min_inclusive").checked, version: cur.version };
    });
    try {
      await R.call("PUT", "/api/lifeline/risk/levels", { levels: rows });
      $("levels-error").textContent = ""; R.toast("已保存风险级别"); reload();
    } catch (e) { $("levels-error").textContent = e.message; }
  });
  $("resp-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    try {
      await R.call("POST", "/api/lifeline/risk/resp", { category_code: $("r-cat").value, hazard_id: $("r-hazard").value ? +$("r-hazard").value : null,
        resp_grid_code: $("r-grid").value, dept_code: $("r-dept").value, person: $("r-person").value, phone: $("r-phone").value });
      R.toast("已新增权责条目"); loadResp();
    } catch (e) { R.toast(e.message, "danger"); }
  });
  $("r-prev").addEventListener("click", () => { if (respPage > 1) { respPage--; loadResp(); } });
  $("r-next").addEventListener("click", () => { if (respPage * 15 < respTotal) { respPage++; loadResp(); } });
  R.deptOptions($("r-dept"), "请选择监管单位");
  reload().then(loadResp);
})();
