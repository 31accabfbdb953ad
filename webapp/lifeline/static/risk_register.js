/* 风险点登记库: the register table with filters, a detail with assessment
   history and decisions, re-assessment (LEC), edits (auditor) and desk collection. */
(function () {
  "use strict";
  const R = window.Risk, $ = id => document.getElementById(id);
  const st = { page: 1, size: 20, total: 0, current: null };
  let cfg = null;

  function params() {
    const p = new URLSearchParams({ page: st.page, size: st.size });
    [["q", "f-q"], ["category", "f-category"], ["level", "f-level"], ["street", "f-street"], ["community", "f-community"],
     ["dept", "f-dept"]].forEach(([k, id]) => { if ($(id).value.trim()) p.set(k, $(id).value.trim()); });
    return p;
  }
  async function load() {
    const d = await R.call("GET", "/api/lifeline/risk/register?" + params());
    st.total = d.total;
    $("reg-table").querySelector("tbody").innerHTML = d.items.map(p => '<tr class="group-row" data-code="' + R.esc(p.code) + '"><td>' +
      R.esc(p.code) + "</td><td>" + R.esc(p.name) + "</td><td>" + R.esc(p.category_name) + "</td><td>" + R.levelBadge(p) +
      '</td><td class="text-end">' + R.num(p.d) + "</td><td>" + R.esc(p.dept_name || "") + "</td><td>" + R.fmtTime(p.assessed_at) +
      "</td></tr>").join("") || '<tr><td colspan="7" class="text-muted">没有记录</td></tr>';
    $("reg-total").textContent = "共 " + d.total + " 条，第 " + st.page + " / " + Math.max(1, Math.ceil(d.total / st.size)) + " 页";
    document.querySelectorAll("#reg-table tr[data-code]").forEach(tr => tr.addEventListener("click", () => show(tr.dataset.code)));
  }
  async function show(code) {
    const p = await R.call("GET", "/api/lifeline/risk/points/" + encodeURIComponent(code));
    st.current = p;
    $("detail").hidden = false;
    $("detail-info").innerHTML = R.popup(p) + '<div class="small text-muted mb-2">来源：' + R.esc(p.source_name) +
      "；审核人：" + R.esc(p.reviewed_by_name || "—") + "；版本 " + p.version + "</div>";
    $("assess-table").querySelector("tbody").innerHTML = p.assessments.map(a => "<tr><td>" + R.fmtTime(a.assessed_at) + "</td><td>" +
      a.l + "</td><td>" + a.e + "</td><td>" + a.c + "</td><td>" + a.d + "</td><td>" + R.esc((cfg.levels[a.level - 1] || {}).name) +
      "</td><td>" + R.esc(a.assessed_by_name || "") + "</td></tr>").join("");
    $("history").innerHTML = p.history.map(h => "<li><b>" + R.esc(h.action_name) + "</b> " + R.esc(h.actor_name || "") + " " +
      R.fmtTime(h.at) + (h.note ? '<div class="text-muted">' + R.esc(h.note) + "</div>" : "") + "</li>").join("");
    if ($("edit-form")) {
      $("e-name").value = p.name; $("e-object").value = p.risk_object || ""; $("e-source").value = p.risk_source || "";
      $("e-person").value = p.resp_person || ""; $("e-phone").value = p.resp_phone || "";
    }
  }
  R.config().then(c => {
    cfg = c;
    R.categoryOptions($("f-category"), cfg, { all: "全部类别" });
    $("f-level").innerHTML = '<option value="">全部等级</option>' + cfg.levels.map(r => '<option value="' + r.level + '">' + R.esc(r.name) + "</option>").join("");
    R.regionOptions($("f-street"), $("f-community"));
    R.deptOptions($("f-dept"), "全部监管单位");
    if ($("assess-form")) {
      ["l", "e", "c"].forEach(k => {
        $("a-" + k).innerHTML = '<option value="">' + k.toUpperCase() + "</option>" + cfg.lec[k].options.map(o =>
          '<option value="' + o.value + '">' + k.toUpperCase() + "=" + o.value + " " + R.esc(o.label) + "</option>").join("");
      });
      $("assess-form").addEventListener("submit", async ev => {
        ev.preventDefault();
        const v = k => $("a-" + k).value === "" ? null : parseFloat($("a-" + k).value);
        try {
          const r = await R.call("POST", "/api/lifeline/risk/points/" + encodeURIComponent(st.current.code) + "/assessments",
            { l: v("l"), e: v("e"), c: v("c"), note: $("a-note").value, version: st.current.version });
          R.toast("已保存评估：D=" + r.d + "，" + cfg.levels[r.level - 1].name);
          show(st.current.code); load();
        } catch (e) { R.toast(e.message, "danger"); }
      });
    }
    if ($("edit-form")) {
      $("edit-form").addEventListener("submit", async ev => {
        ev.preventDefault();
        try {
          await R.call("PATCH", "/api/lifeline/risk/points/" + encodeURIComponent(st.current.code), {
            name: $("e-name").value, risk_object: $("e-object").value, risk_source: $("e-source").value,
            resp_person: $("e-person").value, resp_phone: $("e-phone").value, version: st.current.version });
          R.toast("已保存修改"); show(st.current.code); load();
        } catch (e) { R.toast(e.message, "danger"); }
      });
    }
    if ($("btn-new")) {
      const modal = new bootstrap.Modal($("new-modal"));
      let fmap = null;
      $("btn-new").addEventListener("click", () => modal.show());
      $("new-modal").addEventListener("shown.bs.modal", () => fmap && fmap.invalidateSize());
      RiskForm.init({ url: "/api/lifeline/risk/submissions", source: "desk", submitText: "提交审核",
        onDone: s => { modal.hide(); R.toast("已提交“" + s.data.name + "”，等待审核"); } }).then(f => { fmap = f.map; });
    }
    $("filters").addEventListener("change", () => { st.page = 1; load(); });
    $("filters").addEventListener("submit", ev => { ev.preventDefault(); st.page = 1; load(); });
    $("pg-prev").addEventListener("click", () => { if (st.page > 1) { st.page--; load(); } });
    $("pg-next").addEventListener("click", () => { if (st.page * st.size < st.total) { st.page++; load(); } });
    load();
  });
})();
