/* 隐患治理台账（R116）：筛选、按状态计数、落图、分页列表、Excel 导出。
   Reads /api/lifeline/hazards…; rows open the detail page. */
(function () {
  "use strict";
  const { call, esc } = window.AdminKit;
  const API = "/api/lifeline/hazards";
  const $ = id => document.getElementById(id);
  const FILTERS = ["status", "category", "dept", "level", "supervised", "overdue", "q"];
  const state = { page: 1, size: 20, total: 0 };
  const mapEl = $("hz-map");
  const map = L.map(mapEl, { minZoom: 8, maxZoom: 19 }).setView([33.383, 114.021], 12);
  L.tileLayer(mapEl.dataset.basemapUrl, { maxZoom: 19, attribution: "离线底图 © 西平县城市运行管理服务平台" }).addTo(map);
  const layer = L.featureGroup().addTo(map);

  function query() {
    const q = new URLSearchParams();
    FILTERS.forEach(k => { const v = $("f-" + k).value.trim(); if (v) q.set(k, v); });
    const rec = new URLSearchParams(location.search).get("record");  // 巡查记录的“上报问题数”跳转
    if (rec) q.set("record", rec);
    return q;
  }
  function fmt(s) { return s ? new Date(s).toLocaleString("zh-CN", { hour12: false }).slice(0, 16) : "—"; }
  function statusCell(h) {
    return esc(h.status_name) + (h.supervised ? ' <span class="hz-badge-sup">督</span>' : "");
  }

  async function load() {
    const q = query();
    q.set("page", state.page); q.set("size", state.size);
    const data = await call("GET", `${API}?${q}`);
    state.total = data.total;
    const c = data.counts;
    ["open", "pending", "rectifying", "checking", "rectified", "supervised", "overdue"].forEach(k => { $("k-" + k).textContent = c[k]; });
    $("hz-table").querySelector("tbody").innerHTML = data.items.map(h =>
      `<tr data-id="${h.id}" style="cursor:pointer"><td>${esc(h.code)}</td><td>${esc(h.title)}</td><td>${esc(h.source_name)}</td>` +
      `<td><span style="color:${esc(h.colour)}">●</span> ${esc(h.level_name)}</td><td>${esc(h.dept_name || "—")}</td>` +
      `<td>${statusCell(h)}</td><td class="${h.overdue ? "hz-overdue" : ""}">${esc(h.due || "—")}${h.overdue ? "（逾期）" : ""}</td>` +
      `<td>${fmt(h.found_at)}</td></tr>`).join("") || '<tr><td colspan="8" class="text-muted">没有符合条件的隐患</td></tr>';
    $("hz-total").textContent = `共 ${data.total} 条，第 ${state.page} / ${Math.max(1, Math.ceil(data.total / state.size))} 页`;
    $("pg-prev").disabled = state.page <= 1;
    $("pg-next").disabled = state.page * state.size >= data.total;
    $("btn-export").href = `${API}/export.xlsx?${query()}`;
    document.querySelectorAll(".hz-kpi-card").forEach(el => {
      el.classList.toggle("active", Boolean((el.dataset.status && el.dataset.status === $("f-status").value) ||
        (el.dataset.supervised && $("f-supervised").value === "1") || (el.dataset.overdue && $("f-overdue").value === "1")));
    });
    const fc = await call("GET", `${API}/map?${query()}`);
    layer.clearLayers();
    fc.features.forEach(f => {
      const p = f.properties, [lon, lat] = f.geometry.coordinates;
      L.circleMarker([lat, lon], { radius: p.supervised ? 9 : 6, color: p.supervised ? "#dc3545" : "#fff", weight: 2,
        fillColor: p.status === "rectified" ? "#198754" : (p.status === "cancelled" ? "#adb5bd" : p.colour), fillOpacity: .9 })
        .bindPopup(`<b>${esc(p.code)}</b> ${esc(p.title)}<br>${esc(p.status_name)} · ${esc(p.level_name)}<br>` +
          `${esc(p.dept_name || "")}${p.overdue ? '<br><span class="hz-overdue">已逾期</span>' : ""}<br>` +
          `<a href="/lifeline/hazards/${p.id}">查看详情</a>`).addTo(layer);
    });
    if (fc.features.length && !state.fitted) { map.fitBounds(layer.getBounds().pad(0.1)); state.fitted = true; }
    mapEl.dataset.ready = "1";
  }

  FILTERS.forEach(k => $("f-" + k).addEventListener("change", () => { state.page = 1; load(); }));
  $("pg-prev").addEventListener("click", () => { state.page -= 1; load(); });
  $("pg-next").addEventListener("click", () => { state.page += 1; load(); });
  $("hz-table").addEventListener("click", e => {
    const tr = e.target.closest("tr[data-id]");
    if (tr) location.href = `/lifeline/hazards/${tr.dataset.id}`;
  });
  document.querySelectorAll(".hz-kpi-card").forEach(el => el.addEventListener("click", () => {
    $("f-status").value = el.dataset.status || "";
    $("f-supervised").value = el.dataset.supervised || "";
    $("f-overdue").value = el.dataset.overdue || "";
    state.page = 1; load();
  }));
  const params = new URLSearchParams(location.search);
  FILTERS.forEach(k => { if (params.get(k)) $("f-" + k).value = params.get(k); });
  load().catch(err => window.AdminKit.toast(err.message, "danger"));
})();
