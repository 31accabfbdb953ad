/* 巡检记录（R113）：按人员、时段查询，路线落图；“上报问题”数字跳转到隐患台账中该记录的问题。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const $ = id => document.getElementById(id);
  const mapEl = $("ir-map");
  const map = L.map(mapEl, { minZoom: 8, maxZoom: 19 }).setView([33.383, 114.021], 12);
  Insp.basemap(map, mapEl);
  const layer = L.featureGroup().addTo(map);
  const params = new URLSearchParams(location.search);
  if (params.get("user")) $("f-user").value = params.get("user");

  function query() { const q = Insp.period(); if ($("f-user").value) q.set("user", $("f-user").value); return q; }

  async function show(id) {
    const r = await call("GET", `/api/lifeline/inspection/records/${id}`);
    layer.clearLayers();
    if (r.route) L.geoJSON(r.route, { style: { color: "#0d6efd", weight: 4 } }).addTo(layer);
    r.problem_items.forEach(h => L.circleMarker([h.lat, h.lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#dc3545", fillOpacity: .95 })
      .bindPopup(`<b>${esc(h.code)}</b> ${esc(h.title)}<br>${esc(h.status_name)}<br><a href="/lifeline/hazards/${h.id}">查看隐患</a>`).addTo(layer));
    if (layer.getLayers().length) map.fitBounds(layer.getBounds().pad(0.15));
    $("ir-info").textContent = `记录 ${r.id}：${r.inspector}，${Insp.fmt(r.started_at)} 起，里程 ${r.km.toFixed(2)} km，上报问题 ${r.problems} 个`;
    document.querySelectorAll("#ir-table tr.table-primary").forEach(tr => tr.classList.remove("table-primary"));
    const tr = document.querySelector(`#ir-table tr[data-id="${id}"]`);
    if (tr) tr.classList.add("table-primary");
    mapEl.dataset.ready = "1";
  }

  async function load() {
    const data = await call("GET", `/api/lifeline/inspection/records?${query()}`);
    $("ir-table").querySelector("tbody").innerHTML = data.items.map(r =>
      `<tr data-id="${r.id}" style="cursor:pointer"><td>${r.id}</td><td>${esc(r.inspector)}</td><td>${esc(r.plan_name || "—")}</td>` +
      `<td>${Insp.fmt(r.started_at)}</td><td>${r.open ? '<span class="badge bg-success">巡查中</span>' : Insp.fmt(r.ended_at)}</td>` +
      `<td class="text-end">${r.km.toFixed(2)}</td><td class="text-end">${r.hours.toFixed(1)}</td>` +
      `<td class="text-end">${r.problems ? `<a href="/lifeline/hazards?record=${r.id}">${r.problems}</a>` : 0}</td>` +
      `<td class="text-end">${r.site_watch}</td></tr>`).join("") || '<tr><td colspan="9" class="text-muted">该时段没有巡查记录</td></tr>';
    $("btn-export").href = `/api/lifeline/inspection/records.xlsx?${query()}`;
    if (data.items.length) await show(data.items[0].id);
  }
  $("ir-table").addEventListener("click", e => {
    if (e.target.closest("a")) return;
    const tr = e.target.closest("tr[data-id]");
    if (tr) show(tr.dataset.id).catch(err => toast(err.message, "danger"));
  });
  $("f-user").addEventListener("change", () => load().catch(e => toast(e.message, "danger")));
  Insp.initPeriod(() => load().catch(e => toast(e.message, "danger")));
  load().catch(e => toast(e.message, "danger"));
})();
