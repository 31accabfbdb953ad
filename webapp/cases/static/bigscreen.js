/* 指挥大屏: key figures and charts (GET /api/cases/stats/overview), live open
   cases clustered on the map (stats/live), region polygons with counts and the
   drill-down county → street → community with unit grids (stats/regions),
   per-supervisor figures (stats/supervisors). Everything refreshes every 30 s. */
(function () {
  "use strict";
  const K = window.AdminKit;
  const $ = id => document.getElementById(id);
  const refs = JSON.parse($("bs-refs").textContent);
  const mapEl = $("bs-map");
  const DUE_COLOUR = { overdue: "#e74c3c", warning: "#f39c12", normal: "#2ecc71" };
  const STAGE_COLOUR = { accept: "#5dade2", verify: "#48c9b0", file: "#af7ac5", dispatch: "#f4d03f",
                         handle: "#2ecc71", check: "#76d7c4", close: "#a9cce3" };
  // Where the drill-down stands: county (streets), street (its grids), community (its grids).
  const view = { level: "county", street: null, streetName: "", community: null, communityName: "" };

  // -- charts (ECharts, dark theme)
  const charts = {};
  ["source", "stage", "overdue", "classes"].forEach(k => {
    charts[k] = echarts.init($("chart-" + k), "dark", { renderer: "canvas" });
  });
  const base = { backgroundColor: "transparent", textStyle: { fontFamily: "sans-serif" },
                 grid: { left: 8, right: 24, top: 10, bottom: 4, containLabel: true }, tooltip: { trigger: "item" } };

  function barH(chart, rows, colour) {
    const data = rows.slice().reverse();
    chart.setOption(Object.assign({}, base, {
      xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#16305e" } } },
      yAxis: { type: "category", data: data.map(r => r.name), axisLabel: { color: "#cfe3ff", width: 110, overflow: "truncate" } },
      series: [{ type: "bar", data: data.map(r => r.count), itemStyle: { color: colour }, barMaxWidth: 16,
                 label: { show: true, position: "right", color: "#cfe3ff" } }]
    }), true);
  }

  function drawCharts(o) {
    charts.source.setOption(Object.assign({}, base, {
      legend: { orient: "vertical", right: 0, top: "middle", textStyle: { color: "#cfe3ff" } },
      series: [{ type: "pie", radius: ["40%", "70%"], center: ["35%", "50%"], label: { formatter: "{c}", color: "#cfe3ff" },
                 data: o.today_by_source.map(r => ({ name: r.name, value: r.count })) }],
      title: o.today_by_source.length ? undefined : { text: "今日暂无上报", left: "center", top: "middle", textStyle: { color: "#56709b", fontSize: 14 } }
    }), true);
    charts.stage.setOption(Object.assign({}, base, {
      xAxis: { type: "category", data: o.open_by_stage.map(r => r.name), axisLabel: { color: "#cfe3ff" } },
      yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#16305e" } } },
      series: [{ type: "bar", barMaxWidth: 28, label: { show: true, position: "top", color: "#cfe3ff" },
                 data: o.open_by_stage.map(r => ({ value: r.count, itemStyle: { color: STAGE_COLOUR[r.stage] || "#5dade2" } })) }]
    }), true);
    barH(charts.overdue, o.overdue_by_dept.slice(0, 8), "#e74c3c");
    barH(charts.classes, o.top_classes, "#4fe3ff");
    Object.keys(charts).forEach(k => { $("chart-" + k).dataset.ready = "1"; });
  }

  async function loadOverview() {
    const o = await K.call("GET", "/api/cases/stats/overview");
    const t = o.totals;
    $("k-open").textContent = t.open; $("k-today").textContent = t.reported_today; $("k-closed").textContent = t.closed_today;
    $("k-warning").textContent = t.warning_tasks; $("k-overdue").textContent = t.overdue_tasks; $("k-suspended").textContent = t.suspended;
    drawCharts(o);
  }

  // -- map
  const map = L.map(mapEl, { zoomControl: false, minZoom: 8, maxZoom: 19, preferCanvas: true });
  map.attributionControl.setPrefix("Leaflet");
  L.control.zoom({ position: "bottomright", zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
  L.tileLayer(mapEl.dataset.basemapUrl, { maxZoom: 19, attribution: "离线底图 © 西平县城市运行管理服务平台" }).addTo(map);
  map.setView([33.38, 114.01], 11);
  const areas = L.featureGroup().addTo(map);     // streets, or the drilled street's grids
  const outlines = L.featureGroup().addTo(map);  // community outlines over the grids
  const cluster = L.markerClusterGroup({ maxClusterRadius: 45, showCoverageOnHover: false, chunkedLoading: true }).addTo(map);

  function fillFor(n, max) {
    if (!n) return { fillColor: "#1b3a6b", fillOpacity: 0.25 };
    const r = Math.min(1, n / Math.max(1, max));
    // A blue ramp, so the red of overdue cases stays the only alarm colour.
    return { fillColor: `rgb(${Math.round(30 + 60 * r)},${Math.round(90 + 110 * r)},${Math.round(170 + 85 * r)})`, fillOpacity: 0.3 + 0.4 * r };
  }

  function rowsHtml(features, clickable) {
    return features.map(f => {
      const p = f.properties;
      return `<tr class="${clickable ? "clickable" : ""}" data-code="${p.code}" data-name="${K.esc(p.name)}"><td>${K.esc(p.name)}</td>
        <td class="n-open">${p.open}</td><td class="${p.overdue ? "bad" : ""}">${p.overdue}</td><td>${p.today}</td></tr>`;
    }).join("") || '<tr><td colspan="4">—</td></tr>';
  }

  async function loadAreas(fit) {
    areas.clearLayers();
    outlines.clearLayers();
    let fc;
    if (view.level === "county") {
      fc = await K.call("GET", "/api/cases/stats/regions?level=street");
      const max = Math.max(0, ...fc.features.map(f => f.properties.open));
      L.geoJSON(fc, {
        style: f => Object.assign({ color: "#4fe3ff", weight: 1.5 }, fillFor(f.properties.open, max)),
        onEachFeature: (f, layer) => {
          layer.bindTooltip(`${f.properties.name}<br>办理中 ${f.properties.open}　超期 ${f.properties.overdue}`,
                            { permanent: true, direction: "center", className: "region-label" });
          layer.on("click", () => drillStreet(f.properties.code, f.properties.name));
        }
      }).addTo(areas);
      $("drill-title").textContent = "各街道（乡镇）案件";
      $("drill-table").tBodies[0].innerHTML = rowsHtml(fc.features, true);
    } else {
      const parent = view.level === "street" ? view.street : view.community;
      const [grids, comms] = await Promise.all([
        K.call("GET", "/api/cases/stats/regions?level=grid&parent=" + parent),
        K.call("GET", "/api/cases/stats/regions?level=community&parent=" + view.street)]);
      fc = grids;
      const max = Math.max(0, ...grids.features.map(f => f.properties.open));
      L.geoJSON(grids, {
        style: f => Object.assign({ color: "#2d7fc1", weight: 0.6 }, fillFor(f.properties.open, max)),
        onEachFeature: (f, layer) => layer.bindPopup(
          `<b>${K.esc(f.properties.name)}</b><br>单元网格 ${f.properties.code}<br>办理中 ${f.properties.open}，超期 ${f.properties.overdue}，今日上报 ${f.properties.today}`)
      }).addTo(areas);
      const shown = view.level === "street" ? comms.features : comms.features.filter(f => f.properties.code === view.community);
      L.geoJSON({ type: "FeatureCollection", features: shown }, {
        style: { color: "#4fe3ff", weight: 2, fill: false, interactive: false },
        onEachFeature: (f, layer) => layer.bindTooltip(`${f.properties.name}（${f.properties.open}）`,
                                                        { permanent: true, direction: "center", className: "region-label" })
      }).addTo(outlines);
      if (view.level === "street") {
        $("drill-title").textContent = view.streetName + " · 各社区（村）案件";
        $("drill-table").tBodies[0].innerHTML = rowsHtml(comms.features, true);
      } else {
        $("drill-title").textContent = view.communityName + " · 各单元网格案件";
        const ranked = grids.features.slice().sort((a, b) => b.properties.open - a.properties.open || (a.properties.code < b.properties.code ? -1 : 1));
        $("drill-table").tBodies[0].innerHTML = rowsHtml(ranked, false);
      }
      mapEl.dataset.grids = String(grids.features.length);
    }
    mapEl.dataset.level = view.level;
    mapEl.dataset.areas = String(fc.features.length);
    if (fit && areas.getLayers().length) map.fitBounds(areas.getBounds(), { padding: [10, 10] });
  }

  async function loadLive() {
    const p = view.street ? "?street_code=" + view.street : "";
    const fc = await K.call("GET", "/api/cases/stats/live" + p);
    cluster.clearLayers();
    const markers = fc.features.map(f => {
      const pr = f.properties;
      const colour = DUE_COLOUR[pr.due] && pr.due !== "normal" ? DUE_COLOUR[pr.due] : (STAGE_COLOUR[pr.stage] || DUE_COLOUR.normal);
      const [lon, lat] = f.geometry.coordinates;
      return L.circleMarker([lat, lon], { radius: 6, color: "#06122b", weight: 1, fillColor: colour, fillOpacity: 0.95 })
        .bindPopup(`<a href="/cases/${pr.id}" target="_blank">${K.esc(pr.case_no)}</a><br>${K.esc(pr.class_name || "")}<br>环节：${K.esc(pr.stage_name)}${pr.due === "overdue" ? "<br><b style='color:#c0392b'>已超期</b>" : ""}`);
    });
    cluster.addLayers(markers);
    mapEl.dataset.cases = String(markers.length);
  }

  async function loadSupervisors() {
    const region = view.community || view.street;
    const d = await K.call("GET", "/api/cases/stats/supervisors" + (region ? "?region=" + region : ""));
    $("sup-scope").textContent = `（${view.communityName || view.streetName || "全县"}，本周）`;
    $("sup-table").tBodies[0].innerHTML = d.items.map(s =>
      `<tr data-user="${s.user_id}"><td>${K.esc(s.name)}</td><td>${s.reports_today}</td><td>${s.reports_week}</td>
       <td>${s.tasks_on_time_week}/${s.tasks_done_week}</td><td>${s.on_time_rate == null ? "—" : Math.round(s.on_time_rate * 100) + "%"}</td></tr>`).join("")
      || '<tr><td colspan="5">该区域暂无监督员</td></tr>';
  }

  function crumbs() {
    const parts = ['<a href="#" data-level="county">全县</a>'];
    if (view.street) parts.push(`<span class="sep">›</span><a href="#" data-level="street">${K.esc(view.streetName)}</a>`);
    if (view.community) parts.push(`<span class="sep">›</span><span>${K.esc(view.communityName)}</span>`);
    $("crumbs").innerHTML = parts.join("");
  }

  async function refreshView(fit) {
    crumbs();
    await Promise.all([loadAreas(fit), loadLive(), loadSupervisors()]);
  }

  function drillStreet(code, name) {
    Object.assign(view, { level: "street", street: code, streetName: name, community: null, communityName: "" });
    return refreshView(true).catch(e => K.toast(e.message, "danger"));
  }

  function drillCommunity(code, name) {
    Object.assign(view, { level: "community", community: code, communityName: name });
    return refreshView(true).catch(e => K.toast(e.message, "danger"));
  }

  $("drill-table").addEventListener("click", ev => {
    const tr = ev.target.closest("tr.clickable");
    if (!tr) return;
    if (view.level === "county") drillStreet(tr.dataset.code, tr.dataset.name);
    else if (view.level === "street") drillCommunity(tr.dataset.code, tr.dataset.name);
  });
  $("crumbs").addEventListener("click", ev => {
    const a = ev.target.closest("a[data-level]");
    if (!a) return;
    ev.preventDefault();
    if (a.dataset.level === "county") Object.assign(view, { level: "county", street: null, streetName: "", community: null, communityName: "" });
    else Object.assign(view, { level: "street", community: null, communityName: "" });
    refreshView(true).catch(e => K.toast(e.message, "danger"));
  });
  $("btn-full").addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen(); else document.documentElement.requestFullscreen();
  });

  function tick() { $("clock").textContent = new Date().toLocaleString("zh-CN", { hour12: false }); }
  setInterval(tick, 1000);
  tick();
  window.addEventListener("resize", () => Object.values(charts).forEach(c => c.resize()));

  async function refreshAll(fit) {
    try {
      await Promise.all([loadOverview(), refreshView(fit)]);
      mapEl.dataset.ready = "1";
      $("bs-app").dataset.refreshed = String(Number($("bs-app").dataset.refreshed || 0) + 1);
    } catch (e) {
      K.toast(e.message, "danger");
    }
  }
  setInterval(() => refreshAll(false), 30000);
  refreshAll(true);
})();
