/* 物联监测页面：设备数量（按类型、状态）、设备落图、监测曲线、视频监控（HLS）。
   Reads /api/lifeline/iot/…; nothing here writes. */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const API = "/api/lifeline/iot";
  const $ = id => document.getElementById(id);
  const NET_COLORS = { gas: "#e8590c", water: "#1c7ed6", drainage: "#0ca678", heating: "#c2255c", bridge: "#6741d9" };
  const LEVEL_NAMES = { 1: "一级（红）", 2: "二级（橙）", 3: "三级（黄）", 4: "四级（蓝）" };
  const state = { things: [], current: null, hls: null };

  const mapEl = $("iot-map");
  const map = L.map(mapEl, { minZoom: 8, maxZoom: 19 }).setView([33.383, 114.021], 13);
  L.tileLayer(mapEl.dataset.basemapUrl, { maxZoom: 19, attribution: "离线底图 © 西平县城市运行管理服务平台" }).addTo(map);
  const layer = L.featureGroup().addTo(map);
  const chart = echarts.init($("iot-chart"));

  function fmtTime(s) { return s ? new Date(s).toLocaleString("zh-CN", { hour12: false }) : "—"; }

  function popup(p) {
    const rows = p.datastreams.map(d =>
      `<tr><td>${esc(d.name)}</td><td class="text-end${d.alarm_level ? " lvl-" + d.alarm_level : ""}">` +
      `${d.last_value == null ? "—" : esc(d.last_value)} ${esc(d.unit)}</td></tr>`).join("");
    return `<div><b>${esc(p.name)}</b><br><span class="text-muted">${esc(p.network_name)} · ${esc(p.kind_name)} · ` +
      `${esc(p.status_name)}</span>${p.dept_name ? "<br>" + esc(p.dept_name) : ""}` +
      (rows ? `<table class="table table-sm mb-0 mt-1">${rows}</table>` : "") +
      `<div class="small text-muted">最后上报：${fmtTime(p.last_seen)}</div></div>`;
  }

  async function loadThings() {
    const q = new URLSearchParams();
    if ($("f-network").value) q.set("network", $("f-network").value);
    if ($("f-status").value) q.set("status", $("f-status").value);
    const fc = await call("GET", `${API}/things?${q}`);
    state.things = fc.features;
    layer.clearLayers();
    fc.features.forEach(f => {
      const p = f.properties;
      const [lon, lat] = f.geometry.coordinates;
      const color = p.alarm_level ? "#dc3545" : (NET_COLORS[p.network] || "#555");
      const m = L.circleMarker([lat, lon], {
        radius: p.kind === "camera" ? 8 : 6, color: p.status === "online" ? "#fff" : "#868e96", weight: 2,
        fillColor: p.status === "online" ? color : "#adb5bd", fillOpacity: 0.95, className: "iot-marker",
      }).bindPopup(popup(p)).bindTooltip(p.name);
      m.on("click", () => { if (p.datastreams.length) selectThing(p); else if (p.hls_url) playCamera(p.code); });
      m.feature = f;
      layer.addLayer(m);
    });
    if (fc.features.length && !state.fitted) { map.fitBounds(layer.getBounds().pad(0.1)); state.fitted = true; }
    fillCameras();
    if (!state.current) {
      const first = fc.features.find(f => f.properties.datastreams.length);
      if (first) selectThing(first.properties);
    }
  }

  async function loadSummary() {
    const s = await call("GET", `${API}/summary`);
    $("k-total").textContent = s.total; $("k-online").textContent = s.online;
    $("k-offline").textContent = s.offline; $("k-alarming").textContent = s.alarming;
    $("kind-table").querySelector("tbody").innerHTML = s.by_kind.map(k =>
      `<tr data-kind="${esc(k.code)}"><td>${esc(k.name)}</td><td class="text-end">${k.total}</td>` +
      `<td class="text-end text-success">${k.online}</td><td class="text-end text-secondary">${k.offline}</td></tr>`).join("");
  }

  async function loadIngest() {
    const s = await call("GET", `${API}/ingest-stats?minutes=60`);
    const body = $("ingest-table").querySelector("tbody");
    body.innerHTML = s.totals.length ? s.totals.map(t =>
      `<tr><td>${esc(t.name)}</td><td class="text-end">${t.accepted}</td><td class="text-end">${t.duplicate}</td>` +
      `<td class="text-end${t.malformed + t.out_of_range + t.unknown_device ? " text-danger" : ""}">` +
      `${t.malformed + t.out_of_range + t.unknown_device}</td></tr>`).join("")
      : `<tr><td colspan="4" class="text-muted">近60分钟无接入数据</td></tr>`;
  }

  function selectThing(p) {
    state.current = p;
    $("f-stream").innerHTML = p.datastreams.map(d => `<option value="${d.id}">${esc(d.name)}（${esc(d.unit)}）</option>`).join("");
    loadCurve();
  }

  function thresholdLines(th) {
    const lines = [];
    ["high", "low"].forEach(dir => Object.entries((th || {})[dir] || {}).forEach(([lvl, v]) =>
      lines.push({ yAxis: v, name: LEVEL_NAMES[lvl], lineStyle: { color: ["", "#dc3545", "#fd7e14", "#d4a100", "#0d6efd"][lvl], type: "dashed" },
                   label: { formatter: `${LEVEL_NAMES[lvl]} ${v}`, position: "insideEndTop" } })));
    return lines;
  }

  async function loadCurve() {
    const id = $("f-stream").value;
    if (!id) return;
    const to = new Date();
    const from = new Date(to.getTime() - Number($("f-range").value) * 3600e3);
    const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
    const r = await call("GET", `${API}/datastreams/${id}/observations?${q}`);
    const ds = r.datastream;
    $("chart-title").textContent = `监测曲线：${ds.thing_name} · ${ds.name}（${ds.unit}）` + (r.downsampled ? `，按 ${r.bucket_s} 秒均值` : "");
    chart.setOption({
      animation: false, grid: { left: 50, right: 20, top: 20, bottom: 30 }, tooltip: { trigger: "axis" },
      xAxis: { type: "time" }, yAxis: { type: "value", name: ds.unit, scale: true },
      series: [{ type: "line", name: ds.name, showSymbol: false, data: r.points.map(p => [p[0], p[1]]),
                 markLine: { symbol: "none", data: thresholdLines(ds.thresholds) } }],
    }, true);
    $("iot-chart").dataset.points = String(r.points.length);
    $("iot-chart").dataset.datastream = String(ds.id);
  }

  function fillCameras() {
    const cams = state.things.filter(f => f.properties.kind === "camera");
    const sel = $("f-camera");
    const keep = sel.value;
    sel.innerHTML = cams.map(f => `<option value="${esc(f.properties.code)}">${esc(f.properties.name)}</option>`).join("");
    if (keep && cams.some(f => f.properties.code === keep)) sel.value = keep;
    if (cams.length && !state.hls && !state.camera) playCamera(sel.value);
  }

  function playCamera(code) {
    const f = state.things.find(t => t.properties.code === code);
    if (!f) return;
    $("f-camera").value = code;
    const url = new URL(f.properties.hls_url, window.location.href).href;
    const video = $("cam-video");
    state.camera = code;
    video.dataset.src = url;
    $("cam-info").textContent = `${f.properties.name}：正在连接视频流…`;
    if (state.hls) { state.hls.destroy(); state.hls = null; }
    if (window.Hls && Hls.isSupported()) {
      const hls = new Hls({ manifestLoadingMaxRetry: 1 });
      hls.on(Hls.Events.ERROR, (_, data) => {
        if (data.fatal) $("cam-info").textContent = `${f.properties.name}：视频流无法连接（${url}）`;
      });
      hls.on(Hls.Events.MANIFEST_PARSED, () => { $("cam-info").textContent = f.properties.name; video.play().catch(() => {}); });
      hls.loadSource(url);
      hls.attachMedia(video);
      state.hls = hls;
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = url;    // Safari plays HLS natively
    } else {
      $("cam-info").textContent = "当前浏览器不支持 HLS 视频播放";
    }
  }

  function refreshAll() {
    return Promise.all([loadThings(), loadSummary(), loadIngest()])
      .then(() => { $("iot-updated").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false }); })
      .catch(e => toast(e.message, "danger"));
  }

  $("f-network").addEventListener("change", loadThings);
  $("f-status").addEventListener("change", loadThings);
  $("f-stream").addEventListener("change", loadCurve);
  $("f-range").addEventListener("change", loadCurve);
  $("f-camera").addEventListener("change", e => playCamera(e.target.value));
  window.addEventListener("resize", () => chart.resize());
  window.IotPage = { state, map, chart, playCamera };
  refreshAll();
  setInterval(refreshAll, 30000);
})();
