/* 巡检计划（R111）：巡查点、线、面在地图上绘制或按编码选择风险点/管线/区域；类别、部门、人员、频次、有效期。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const $ = id => document.getElementById(id);
  const mapEl = $("ip-map");
  const map = L.map(mapEl, { minZoom: 8, maxZoom: 19 }).setView([33.383, 114.021], 12);
  Insp.basemap(map, mapEl);
  const plansLayer = L.featureGroup().addTo(map), drawLayer = L.featureGroup().addTo(map);
  const COLORS = { point: "#d9480f", line: "#1c7ed6", area: "#2b8a3e" };
  let verts = [], editing = null;
  $("p-from").value = new Date().toISOString().slice(0, 10);

  function redraw() {
    drawLayer.clearLayers();
    const kind = $("p-kind").value, ll = verts.map(([x, y]) => [y, x]);
    if (kind === "point") ll.forEach(p => L.circleMarker(p, { radius: 6, color: COLORS.point }).addTo(drawLayer));
    else if (kind === "line" && ll.length) L.polyline(ll, { color: COLORS.line, weight: 4, dashArray: "6 4" }).addTo(drawLayer);
    else if (kind === "area" && ll.length) L.polygon(ll, { color: COLORS.area, dashArray: "6 4" }).addTo(drawLayer);
    $("ip-count").textContent = verts.length ? `已绘制 ${verts.length} 个点` : "";
  }
  function geometry() {
    const kind = $("p-kind").value;
    if (!verts.length) return null;
    if (kind === "point") return verts.length === 1 ? { type: "Point", coordinates: verts[0] } : { type: "MultiPoint", coordinates: verts };
    if (kind === "line") return { type: "LineString", coordinates: verts };
    return { type: "Polygon", coordinates: [[...verts, verts[0]]] };
  }
  map.on("click", e => { verts.push([+e.latlng.lng.toFixed(7), +e.latlng.lat.toFixed(7)]); redraw(); });
  $("p-kind").addEventListener("change", redraw);
  $("ip-clear").addEventListener("click", () => { verts = []; redraw(); });

  async function load() {
    const data = await call("GET", "/api/lifeline/inspection/plans");
    plansLayer.clearLayers();
    $("ip-table").querySelector("tbody").innerHTML = data.items.map(p =>
      `<tr><td>${esc(p.name)}</td><td>${esc(p.kind_name)}</td><td>${esc(p.dept_name || "—")}</td><td>${esc(p.people_names.join("、"))}</td>` +
      `<td>${esc(p.frequency_name)}${p.times > 1 ? p.times + "次" : ""}</td><td class="small">${esc(p.valid_from)} 至 ${esc(p.valid_to || "长期")}</td>` +
      `<td><button class="btn btn-link btn-sm p-0" data-del="${p.id}" data-version="${p.version}">删除</button></td></tr>`).join("");
    data.items.forEach(p => L.geoJSON(p.geometry, {
      style: { color: COLORS[p.kind], weight: 3 },
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: "#fff", weight: 2, fillColor: COLORS.point, fillOpacity: .9 }),
    }).bindTooltip(p.name).addTo(plansLayer));
    if (plansLayer.getLayers().length && !editing) { map.fitBounds(plansLayer.getBounds().pad(0.1)); editing = true; }
    mapEl.dataset.ready = "1";
  }
  $("ip-table").addEventListener("click", async e => {
    const b = e.target.closest("[data-del]");
    if (!b || !confirm("确定删除该巡检计划？")) return;
    try { await call("DELETE", `/api/lifeline/inspection/plans/${b.dataset.del}?version=${b.dataset.version}`); toast("已删除"); load(); }
    catch (err) { toast(err.message, "danger"); }
  });
  $("ip-form").addEventListener("submit", async e => {
    e.preventDefault();
    const kind = $("p-kind").value;
    const codes = $("p-targets").value.split(/[,，\s]+/).filter(Boolean);
    const body = { name: $("p-name").value, kind, category_code: $("p-category").value || null, dept_code: $("p-dept").value || null,
      people: Array.from($("p-people").selectedOptions).map(o => Number(o.value)), frequency: $("p-frequency").value,
      times: Number($("p-times").value || 1), valid_from: $("p-from").value, valid_to: $("p-to").value || null };
    if (codes.length) body.targets = { [{ point: "risk_points", line: "pipes", area: "regions" }[kind]]: codes };
    else body.geometry = geometry();
    try { await call("POST", "/api/lifeline/inspection/plans", body); toast("巡检计划已保存"); verts = []; redraw(); $("p-name").value = ""; load(); }
    catch (err) { toast(err.message, "danger"); }
  });
  load().catch(e => toast(e.message, "danger"));
})();
