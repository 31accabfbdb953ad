/* 案卷查询：关键字与条件查询、分页、地图定位。数据来自 GET /api/cases（按数据范围）。 */
(function () {
  "use strict";
  const { call, esc } = window.AdminKit;
  const $ = id => document.getElementById(id);
  const state = { page: 1, size: 20, total: 0 };
  const map = L.map("case-map", { zoomControl: true }).setView([33.38, 114.02], 12);
  L.tileLayer("/basemap/{z}/{x}/{y}.png", { maxZoom: 18, attribution: "西平县基础数据（离线底图）" }).addTo(map);
  const layer = L.layerGroup().addTo(map);
  const markers = {};

  function params() {
    const p = new URLSearchParams({ page: state.page, size: state.size });
    const add = (k, v) => { if (v) p.set(k, v); };
    add("q", $("q").value.trim()); add("status", $("f-status").value); add("stage", $("f-stage").value);
    add("kind", $("f-kind").value); add("street_code", $("f-street").value); add("from", $("f-from").value);
    add("to", $("f-to").value); if ($("f-overdue").checked) p.set("overdue", "1");
    return p;
  }

  function fmt(t) { return t ? new Date(t).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }).slice(0, 16) : ""; }

  async function load() {
    $("search-error").textContent = "";
    let data;
    try { data = await call("GET", "/api/cases?" + params()); } catch (e) { $("search-error").textContent = e.message; return; }
    state.total = data.total;
    layer.clearLayers();
    $("case-body").innerHTML = data.items.map(c =>
      `<tr data-id="${c.id}"><td><a href="/cases/${c.id}">${esc(c.case_no)}</a>${c.difficult ? ' <span class="badge bg-danger">疑难</span>' : ""}</td>` +
      `<td>${esc(c.class_name || c.class_code)}</td><td>${c.description_html || esc(c.description)}</td>` +
      `<td>${esc(c.address || "")}</td><td>${esc(c.status_name)}${c.stage_name ? "·" + esc(c.stage_name) : ""}</td>` +
      `<td class="text-nowrap">${fmt(c.reported_at)}</td></tr>`).join("") ||
      `<tr><td colspan="6" class="text-muted">没有符合条件的案卷</td></tr>`;
    const pts = [];
    data.items.forEach(c => {
      const m = L.circleMarker([c.lat, c.lon], { radius: 6, color: c.status === "open" ? "#d63384" : "#198754", weight: 2, fillOpacity: .6 })
        .bindPopup(`<a href="/cases/${c.id}">${esc(c.case_no)}</a><br>${esc(c.class_name || "")}<br>${esc(c.status_name)}`);
      m.addTo(layer); markers[c.id] = m; pts.push([c.lat, c.lon]);
    });
    if (pts.length) map.fitBounds(pts, { maxZoom: 16, padding: [20, 20] });
    const pages = Math.max(1, Math.ceil(state.total / state.size));
    $("page-info").textContent = `共 ${state.total} 件，第 ${state.page} / ${pages} 页`;
    $("prev").disabled = state.page <= 1; $("next").disabled = state.page >= pages;
    document.querySelectorAll("#case-body tr[data-id]").forEach(tr => tr.addEventListener("mouseenter", () => {
      const m = markers[tr.dataset.id]; if (m) m.openPopup();
    }));
  }

  $("case-search").addEventListener("submit", ev => { ev.preventDefault(); state.page = 1; load(); });
  $("prev").addEventListener("click", () => { state.page -= 1; load(); });
  $("next").addEventListener("click", () => { state.page += 1; load(); });
  load();
})();
