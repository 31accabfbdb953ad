/* 规则测试台: pick source, class and a point (map click) or an address; the
   server locates it (geo.geocode), runs the auto-registration rules and the
   responsibility list, and we show what would happen and why. */
(function () {
  "use strict";
  const API = "/api/cases/config/dispatch-test";
  const refs = JSON.parse(document.getElementById("bench-refs").textContent);
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  const $ = id => document.getElementById(id);
  const el = $("bench-map");

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function classOptions() {
    const kind = $("b-kind").value;
    const bigs = {};
    refs.classes[kind].forEach(([code, name, parent]) => { if (!parent) bigs[code] = name; });
    let html = "", group = null;
    refs.classes[kind].filter(c => c[2]).forEach(([code, name, parent]) => {
      if (parent !== group) { html += (group ? "</optgroup>" : "") + `<optgroup label="${esc(parent)} ${esc(bigs[parent] || "")}">`; group = parent; }
      html += `<option value="${esc(code)}">${esc(code)} ${esc(name)}</option>`;
    });
    $("b-class").innerHTML = html + (group ? "</optgroup>" : "");
  }
  $("b-kind").addEventListener("change", classOptions);
  classOptions();

  const map = L.map(el, { zoomControl: true, minZoom: 8, maxZoom: 20 }).setView([33.38, 114.02], 14);
  map.attributionControl.setPrefix("Leaflet");
  L.tileLayer(el.dataset.basemapUrl, { maxZoom: 20, attribution: "离线底图 © 西平县城市运行管理服务平台" }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  let marker = null;
  window.benchMap = map;  // for the browser tests (click a known place)
  el.dataset.state = "ready";

  function body() {
    const b = { source: $("b-source").value, kind: $("b-kind").value, class_code: $("b-class").value };
    if ($("b-at").value) b.at = $("b-at").value;
    return b;
  }
  async function run(b) {
    el.dataset.state = "running";
    $("bench-result").innerHTML = '<div class="text-muted">正在测试…</div>';
    try {
      const r = await fetch(API, { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(b) });
      const data = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error((data.error && data.error.message) || ("请求失败（" + r.status + "）"));
      show(data);
    } catch (e) {
      $("bench-result").innerHTML = `<div class="alert alert-danger py-2 mb-0" id="bench-error">${esc(e.message)}</div>`;
    }
    el.dataset.state = "done";
  }
  function show(d) {
    const loc = d.location;
    const ll = [loc.lat, loc.lon];
    if (marker) marker.setLatLng(ll); else marker = L.marker(ll).addTo(map);
    marker.bindTooltip(`${esc(loc.street_name || "")} ${esc(loc.community_name || "")}`).openTooltip();
    const geo = d.geocoded.length ? `<div class="small mb-2">地址匹配：${esc(d.geocoded[0].address)}（${esc(d.geocoded[0].level)}）</div>` : "";
    const acts = d.auto.action_names.length
      ? d.auto.action_names.map(a => `<span class="badge text-bg-info">${esc(a)}</span>`).join(" ")
      : '<span class="badge text-bg-secondary">无（标准流程）</span>';
    const cands = d.dispatch.candidates;
    const rows = cands.length ? cands.map(c => `<tr><td>${esc(c.dept_name)}<div class="reason">${esc(c.dept_code)}</div></td>
        <td>${esc(c.post || "—")}${c.user_name ? "<br>" + esc(c.user_name) : ""}</td>
        <td class="reason">${esc(c.reason)}</td></tr>`).join("")
      : '<tr><td colspan="3" class="text-muted">没有候选部门</td></tr>';
    $("bench-result").innerHTML = `${geo}
      <h6 class="mb-1">位置</h6>
      <dl class="row mb-2 small">
        <dt class="col-4">街道（乡镇）</dt><dd class="col-8 mb-0" id="r-street">${esc(loc.street_name || "—")}</dd>
        <dt class="col-4">社区（村）</dt><dd class="col-8 mb-0">${esc(loc.community_name || "—")}</dd>
        <dt class="col-4">单元网格</dt><dd class="col-8 mb-0">${esc(loc.grid_code || "—")}</dd>
        <dt class="col-4">责任网格</dt><dd class="col-8 mb-0">${esc(loc.resp_grid_name || "—")}</dd>
      </dl>
      <h6 class="mb-1">立案规则（${esc(d.source_name)} · ${esc(d.class_name || "")}）</h6>
      <div class="mb-1" id="r-actions">${acts}</div>
      <div class="reason mb-2" id="r-rule">${esc(d.auto.explanation)}</div>
      <h6 class="mb-1">派遣</h6>
      <div class="alert ${d.auto_dispatch ? "alert-success" : "alert-warning"} py-1 px-2 mb-2" id="r-verdict">${esc(d.verdict)}</div>
      <table class="table table-sm mb-0" id="r-candidates"><thead><tr><th>候选部门</th><th>岗位/人员</th><th>匹配原因</th></tr></thead><tbody>${rows}</tbody></table>`;
  }
  map.on("click", ev => run(Object.assign(body(), { lon: ev.latlng.lng, lat: ev.latlng.lat })));
  $("bench-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const a = $("b-address").value.trim();
    if (!a) { $("bench-result").innerHTML = '<div class="alert alert-warning py-2 mb-0">请输入地址，或在地图上点选位置。</div>'; return; }
    run(Object.assign(body(), { address: a }));
  });
})();
