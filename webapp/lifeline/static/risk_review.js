/* 风险点审核 (R109): the auditor's queue; approve (→ register with a generated
   code) or reject with a reason; direct registration without review. */
(function () {
  "use strict";
  const R = window.Risk, $ = id => document.getElementById(id);
  let items = [], current = null, subMap = null, subMarker = null, formMap = null;
  const modal = new bootstrap.Modal($("direct-modal"));

  async function load() {
    const st = $("f-status").value;
    try {
      const d = await R.call("GET", "/api/lifeline/risk/submissions" + (st ? "?status=" + st : ""));
      items = d.items;
      $("subs-table").querySelector("tbody").innerHTML = items.map(s => '<tr class="group-row" data-id="' + s.id + '"><td>' + s.id +
        "</td><td>" + R.esc(s.data.name) + "</td><td>" + R.esc(s.category_name) + "</td><td>" + R.levelBadge(s) + "</td><td>" +
        R.esc(s.source_name) + "</td><td>" + R.esc(s.submitted_by_name) + "</td><td>" + R.fmtTime(s.submitted_at) + "</td><td>" +
        R.esc(s.status_name) + (s.risk_code ? "（" + R.esc(s.risk_code) + "）" : "") + "</td></tr>").join("") ||
        '<tr><td colspan="8" class="text-muted">没有记录</td></tr>';
      document.querySelectorAll("#subs-table tr[data-id]").forEach(tr => tr.addEventListener("click", () => show(+tr.dataset.id)));
    } catch (e) { $("review-error").textContent = e.message; }
  }
  function show(id) {
    current = items.find(s => s.id === id);
    document.querySelectorAll("#subs-table tr.active").forEach(x => x.classList.remove("active"));
    document.querySelector('#subs-table tr[data-id="' + id + '"]').classList.add("active");
    const d = current.data;
    const p = Object.assign({}, d, { code: "上报#" + current.id, category_name: current.category_name, dept_name: current.dept_name,
      level_name: current.level_name, colour: current.colour });
    $("sub-info").innerHTML = R.popup(p) + (current.reason ? '<div class="small">审核意见：' + R.esc(current.reason) + "</div>" : "");
    $("sub-detail").hidden = false;
    $("sub-actions").hidden = current.status !== "pending";
    if (!subMap) { subMap = R.map($("sub-map")); }
    subMap.invalidateSize();
    const ll = [current.lat, current.lon];
    if (subMarker) { subMarker.setLatLng(ll); } else { subMarker = R.marker(current, ll).addTo(subMap); }
    subMarker.setStyle({ fillColor: current.colour });
    subMap.setView(ll, 16);
  }
  async function decide(kind) {
    const reason = $("sub-reason").value.trim();
    const body = kind === "approve" ? { note: reason || undefined, version: current.version } : { reason, version: current.version };
    try {
      const r = await R.call("POST", "/api/lifeline/risk/submissions/" + current.id + "/" + kind, body);
      R.toast(kind === "approve" ? "已审核通过，入库编码 " + r.point.code : "已驳回");
      $("sub-reason").value = "";
      $("sub-detail").hidden = true;
      load();
    } catch (e) { R.toast(e.message, "danger"); }
  }
  $("btn-approve").addEventListener("click", () => decide("approve"));
  $("btn-reject").addEventListener("click", () => decide("reject"));
  $("f-status").addEventListener("change", load);
  $("btn-direct").addEventListener("click", () => { modal.show(); });
  $("direct-modal").addEventListener("shown.bs.modal", () => formMap && formMap.invalidateSize());
  RiskForm.init({
    url: "/api/lifeline/risk/points", submitText: "登记入库",
    onDone: p => { modal.hide(); R.toast("已登记入库：" + p.code + " " + p.name); }
  }).then(f => { formMap = f.map; });
  load();
})();
