/* 手机巡检页：开始/结束巡查，navigator.geolocation 定位（WGS84，EPSG:4326，服务器换算到 CGCS2000），
   每 15 秒批量上传轨迹点；上报问题（带照片）生成隐患；工地监护计数。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const $ = id => document.getElementById(id);
  const mapEl = $("run-map");
  const map = L.map(mapEl, { minZoom: 8, maxZoom: 19 }).setView([33.383, 114.021], 14);
  L.tileLayer(mapEl.dataset.basemapUrl, { maxZoom: 19, attribution: "离线底图" }).addTo(map);
  const planLayer = L.featureGroup().addTo(map), routeLayer = L.featureGroup().addTo(map);
  let rec = null, plans = [], buffer = [], watchId = null, last = null, timer = null;

  function alertBox(msg) { $("run-alert").textContent = msg || ""; $("run-alert").classList.toggle("d-none", !msg); }
  function render() {
    const on = !!rec;
    $("run-state").textContent = on ? "巡查中" : "未开始";
    $("run-state").className = "badge " + (on ? "bg-success" : "bg-secondary");
    $("btn-start").classList.toggle("d-none", on); $("btn-stop").classList.toggle("d-none", !on);
    $("btn-watch").disabled = !on; $("btn-problem").disabled = !on; $("run-plan").disabled = on;
    $("run-km").textContent = on ? rec.km.toFixed(2) : "0.00";
    $("run-problems").textContent = on ? rec.problems : 0; $("run-watch").textContent = on ? rec.site_watch : 0;
    routeLayer.clearLayers();
    if (on && rec.route) L.geoJSON(rec.route, { style: { color: "#0d6efd", weight: 4 } }).addTo(routeLayer);
    $("run-app").dataset.state = on ? "running" : "idle";
  }
  function showPlan() {
    planLayer.clearLayers();
    const p = plans.find(x => String(x.id) === $("run-plan").value);
    if (!p) return;
    L.geoJSON(p.geometry, { style: { color: "#d9480f", weight: 3 },
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 7, color: "#fff", weight: 2, fillColor: "#d9480f", fillOpacity: .9 }) }).addTo(planLayer);
    map.fitBounds(planLayer.getBounds().pad(0.2));
  }
  async function flush() {
    if (!rec || !buffer.length) return;
    const batch = buffer.splice(0, buffer.length);
    try {
      const r = await call("POST", "/api/lifeline/inspection/tracks", { record_id: rec.id, crs: "EPSG:4326", points: batch });
      rec.km = r.km; $("run-km").textContent = r.km.toFixed(2); alertBox("");
    } catch (err) { alertBox("轨迹上传未成功：" + err.message); }
  }
  function onPos(pos) {
    const c = pos.coords;
    last = [c.longitude, c.latitude];
    buffer.push({ t: pos.timestamp, lon: c.longitude, lat: c.latitude, accuracy: c.accuracy });
    $("run-points").textContent = Number($("run-points").textContent) + 1;
    L.circleMarker([c.latitude, c.longitude], { radius: 3, color: "#0d6efd" }).addTo(routeLayer);
  }
  function startGps() {
    if (!navigator.geolocation) { alertBox("此设备不支持定位，将只记录开始与结束时间"); return; }
    watchId = navigator.geolocation.watchPosition(onPos, err => alertBox("定位失败：" + err.message),
      { enableHighAccuracy: true, maximumAge: 5000, timeout: 20000 });
    timer = setInterval(flush, 15000);
  }
  function stopGps() {
    if (watchId != null) navigator.geolocation.clearWatch(watchId);
    clearInterval(timer); watchId = null;
  }
  async function init() {
    const cur = await call("GET", "/api/lifeline/inspection/records/current");
    plans = cur.plans;
    $("run-plan").innerHTML = '<option value="">（不按计划巡查）</option>' + plans.map(p => `<option value="${p.id}">${esc(p.name)}（${esc(p.kind_name)}）</option>`).join("");
    if (!cur.inspector) alertBox("您尚未登记为巡检人员，请联系监测中心登记。");
    rec = cur.record;
    if (rec && rec.plan_id) { $("run-plan").value = rec.plan_id; }
    showPlan(); render();
    if (rec) startGps();
  }
  $("run-plan").addEventListener("change", showPlan);
  $("btn-start").addEventListener("click", async () => {
    try {
      const pid = $("run-plan").value;
      rec = await call("POST", "/api/lifeline/inspection/records", pid ? { plan_id: Number(pid) } : {});
      render(); startGps(); toast("巡查已开始");
    } catch (err) { alertBox(err.message); }
  });
  $("btn-stop").addEventListener("click", async () => {
    await flush(); stopGps();
    try { await call("POST", `/api/lifeline/inspection/records/${rec.id}/stop`, {}); rec = null; render(); toast("巡查已结束"); }
    catch (err) { alertBox(err.message); }
  });
  $("btn-watch").addEventListener("click", async () => {
    try { rec = { ...rec, ...(await call("POST", `/api/lifeline/inspection/records/${rec.id}/site-watch`, {})) }; render(); }
    catch (err) { alertBox(err.message); }
  });
  $("btn-problem").addEventListener("click", () => $("problem-form").classList.toggle("d-none"));
  $("problem-form").addEventListener("submit", async e => {
    e.preventDefault();
    const c = map.getCenter();
    const [lon, lat] = last || [c.lng, c.lat];
    const body = { title: $("pr-title").value, description: $("pr-desc").value, level: Number($("pr-level").value),
      lon, lat, crs: last ? "EPSG:4326" : "EPSG:4490" };
    const fd = new FormData();
    fd.append("data", JSON.stringify(body));
    Array.from($("pr-photo").files).forEach(f => fd.append("photo", f));
    try {
      const h = await call("POST", `/api/lifeline/inspection/records/${rec.id}/problems`, fd, true);
      rec.problems += 1; render(); $("problem-form").classList.add("d-none"); toast(`已上报，隐患编号 ${h.code}`);
    } catch (err) { alertBox(err.message); }
  });
  init().catch(err => alertBox(err.message));
})();
