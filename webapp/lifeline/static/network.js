/* 管网分析页面：爆管分析（供水/燃气/供热）、上下游追踪（雨水/污水）、燃气泄漏影响。
   Reads /api/lifeline/network/…; nothing here writes. */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const API = "/api/lifeline/network";
  const $ = id => document.getElementById(id);
  const mapEl = $("net-map");
  const NAMES = JSON.parse(mapEl.dataset.networks);
  const TOOL_NETS = { burst: JSON.parse(mapEl.dataset.pressure), trace: JSON.parse(mapEl.dataset.drainage), "leak-impact": ["gas"] };
  const NET_COLORS = { water: "#1c7ed6", gas: "#e8590c", heating: "#c2255c", rain: "#0ca678", sewage: "#795548" };
  const ROLE_STYLE = {
    burst: { color: "#000", weight: 7, className: "net-burst" },
    isolated: { color: "#dc3545", weight: 5, className: "net-isolated" },
    cut_off: { color: "#fd7e14", weight: 4, className: "net-cutoff" },
    down: { color: "#6f42c1", weight: 4, className: "net-down" },
    up: { color: "#20c997", weight: 4, className: "net-up" },
    buffer: { color: "#dc3545", weight: 2, fillColor: "#ffc107", fillOpacity: 0.25, className: "net-buffer" },
  };
  const POINT_STYLE = {
    valve: { radius: 6, color: "#fff", weight: 2, fillColor: "#212529", fillOpacity: 1, className: "net-valve" },
    source: { radius: 7, color: "#fff", weight: 2, fillColor: "#0d6efd", fillOpacity: 1, className: "net-valve net-source" },
    outfall: { radius: 7, color: "#fff", weight: 2, fillColor: "#0d6efd", fillOpacity: 1, className: "net-outfall" },
    head: { radius: 4, color: "#fff", weight: 1, fillColor: "#20c997", fillOpacity: 1, className: "net-head" },
    risk: { radius: 7, color: "#fff", weight: 2, fillColor: "#dc3545", fillOpacity: 1, className: "net-risk" },
    poi: { radius: 6, color: "#fff", weight: 2, fillColor: "#6610f2", fillOpacity: 1, className: "net-poi" },
    click: { radius: 5, color: "#dc3545", weight: 3, fillColor: "#fff", fillOpacity: 1, className: "net-click" },
  };
  const state = { tool: "burst", network: null, base: {}, result: null, busy: false };

  const map = L.map(mapEl, { minZoom: 8, maxZoom: 19 }).setView([33.383, 114.021], 14);
  L.tileLayer(mapEl.dataset.basemapUrl, { maxZoom: 19, attribution: "离线底图 © 西平县城市运行管理服务平台" }).addTo(map);
  const canvas = L.canvas({ padding: 0.2 });
  const baseGroup = L.layerGroup().addTo(map);
  const resultGroup = L.featureGroup().addTo(map);

  async function showNetwork(net) {
    baseGroup.clearLayers();
    if (!state.base[net]) {
      const fc = await call("GET", `${API}/pipes?network=${net}`);
      state.base[net] = L.geoJSON(fc, { renderer: canvas, interactive: false,
        style: { color: NET_COLORS[net], weight: 2, opacity: 0.55 } });
      state.base[net].count = fc.features.length;
    }
    baseGroup.addLayer(state.base[net]);
    mapEl.dataset.baseNetwork = net;
    mapEl.dataset.baseCount = state.base[net].count;
  }

  function fillNetworks() {
    const nets = TOOL_NETS[state.tool];
    $("f-network").innerHTML = nets.map(n => `<option value="${n}">${esc(NAMES[n])}管网</option>`).join("");
    $("f-network").disabled = nets.length === 1;
    $("f-level").classList.toggle("d-none", state.tool !== "leak-impact");
    state.network = nets[0];
    $("net-hint").textContent = { burst: "点击管线位置，分析需关闭的阀门与停供范围",
      trace: "点击雨水/污水管线，追踪上下游直至排放口", "leak-impact": "点击泄漏位置，按泄漏等级计算影响范围" }[state.tool];
    showNetwork(state.network);
  }

  function drawResult(fc) {
    resultGroup.clearLayers();
    L.geoJSON(fc, {
      style: f => ROLE_STYLE[f.properties.role] || { color: "#333" },
      pointToLayer: (f, ll) => L.circleMarker(ll, POINT_STYLE[f.properties.role] || POINT_STYLE.valve),
      onEachFeature: (f, layer) => {
        const p = f.properties;
        if (p.code) layer.bindTooltip(`${esc(p.code)}${p.kind ? " · " + esc(p.kind) : ""}${p.name ? " · " + esc(p.name) : ""}`);
      },
    }).eachLayer(l => resultGroup.addLayer(l));
  }

  const m = v => v == null ? "—" : Number(v).toLocaleString("zh-CN", { maximumFractionDigits: 1 });
  const table = (head, rows, cls) => rows.length ? `<div class="net-list ${cls || ""}"><table class="table table-sm mb-2">` +
    `<thead><tr>${head.map(h => `<th>${h}</th>`).join("")}</tr></thead><tbody>` +
    rows.map(r => `<tr>${r.map(c => `<td>${esc(c)}</td>`).join("")}</tr>`).join("") + `</tbody></table></div>`
    : `<div class="text-muted small mb-2">无</div>`;
  const regions = rs => rs.length ? rs.map(r => `${esc(r.street_name || "")}${esc(r.name)}`).join("、") : "无";

  function renderBurst(r) {
    const p = r.pipe;
    return `<div class="mb-2">爆管管线 <b>${esc(p.code)}</b>（${esc(r.network_name)}，DN${esc(p.diameter_mm)}，${esc(p.material)}）` +
      `${p.distance_m ? `，距点击位置 ${m(p.distance_m)} 米` : ""}</div>` +
      `<div class="row g-1 text-center mb-2">` +
      `<div class="col"><div class="small text-muted">需关闭阀门</div><div class="net-kpi" id="k-valves">${r.valves.length}</div></div>` +
      `<div class="col"><div class="small text-muted">隔离管段</div><div class="net-kpi text-danger" id="k-isolated">${r.isolated.count}</div><div class="small">${m(r.isolated.length_m)} 米</div></div>` +
      `<div class="col"><div class="small text-muted">停供管段</div><div class="net-kpi text-warning" id="k-cutoff">${r.cut_off.count}</div><div class="small">${m(r.cut_off.length_m)} 米</div></div>` +
      `<div class="col"><div class="small text-muted">影响门牌</div><div class="net-kpi" id="k-addr">${r.addresses.count}</div></div></div>` +
      (r.sources_shut.length ? `<div class="alert alert-warning py-1 small">隔离区直连水源/气源/热源，需关闭 ${r.sources_shut.map(s => esc(s.code + s.kind)).join("、")} 出口</div>` : "") +
      `<h6 class="small fw-bold">需关闭的阀门</h6>` +
      table(["编码", "类型", "经度", "纬度"], r.valves.map(v => [v.code, v.kind, v.lon.toFixed(6), v.lat.toFixed(6)]), "net-valves") +
      `<h6 class="small fw-bold">停供管段</h6>` + table(["管线编码"], r.cut_off.pipes.map(c => [c]), "net-cutoff-list") +
      `<h6 class="small fw-bold">影响社区</h6><div class="small mb-2" id="res-regions">${regions(r.regions)}</div>` +
      `<h6 class="small fw-bold">影响门牌（${r.addresses.count}）</h6><div class="small text-muted mb-1">${esc(r.addresses.rule)}</div>` +
      table(["门牌地址", "社区"], r.addresses.list.map(a => [a.full_address, a.community || ""])) +
      (r.meter_wells != null ? `<div class="small">涉及水表井 ${r.meter_wells} 座</div>` : "") +
      `<div class="small text-muted">分析耗时 ${r.elapsed_ms} 毫秒</div>`;
  }

  function renderTrace(r) {
    const part = (d, name) => r[d] ? `<h6 class="small fw-bold">${name}：${r[d].count} 段，${m(r[d].length_m)} 米，${r[d].node_count} 个管点</h6>` : "";
    return `<div class="mb-2">起始管线 <b>${esc(r.pipe.code)}</b>（${esc(r.network_name)}）</div>` + part("down", "下游") +
      `<div class="small mb-2" id="res-outfalls">排放口：${(r.outfalls || []).map(o => esc(o.code)).join("、") || "无"}</div>` +
      part("up", "上游") + `<h6 class="small fw-bold">汇水社区</h6><div class="small mb-2">${regions(r.catchment || [])}</div>` +
      `<div class="small text-muted">分析耗时 ${r.elapsed_ms} 毫秒</div>`;
  }

  function renderLeak(r) {
    return `<div class="mb-2">${esc(r.level_name)}，影响半径 <b>${m(r.radius_m)}</b> 米，面积 ${m(r.area_m2)} 平方米</div>` +
      `<div class="row g-1 text-center mb-2">` +
      `<div class="col"><div class="small text-muted">风险点</div><div class="net-kpi text-danger" id="k-risk">${r.risk_points.length}</div></div>` +
      `<div class="col"><div class="small text-muted">人员密集场所</div><div class="net-kpi" id="k-poi">${r.people_dense.length}</div></div>` +
      `<div class="col"><div class="small text-muted">门牌</div><div class="net-kpi">${r.address_count}</div></div>` +
      `<div class="col"><div class="small text-muted">范围内阀门</div><div class="net-kpi">${r.valves.length}</div></div></div>` +
      `<h6 class="small fw-bold">风险点</h6>` + table(["名称", "类别", "距离(米)"], r.risk_points.map(x => [x.name, x.category, m(x.distance_m)])) +
      `<h6 class="small fw-bold">人员密集场所</h6>` + table(["名称", "类别", "距离(米)"], r.people_dense.map(x => [x.name, x.category, m(x.distance_m)])) +
      `<h6 class="small fw-bold">${r.valves.length ? "范围内燃气阀门" : "最近的燃气阀门"}</h6>` +
      table(["编码", "距离(米)"], (r.valves.length ? r.valves : r.nearest_valves).map(v => [v.code, m(v.distance_m)])) +
      `<h6 class="small fw-bold">涉及社区</h6><div class="small">${regions(r.regions)}</div>`;
  }

  async function run(lat, lon) {
    const q = new URLSearchParams({ lon: lon.toFixed(7), lat: lat.toFixed(7) });
    if (state.tool !== "leak-impact") q.set("network", state.network); else q.set("level", $("f-level").value);
    state.busy = true;
    $("res-title").textContent = "分析中…";
    try {
      const r = await call("GET", `${API}/${state.tool}?${q}`);
      state.result = r;
      drawResult(r.geojson);
      $("res-title").textContent = { burst: "爆管分析结果", trace: "上下游追踪结果", "leak-impact": "燃气泄漏影响" }[state.tool];
      $("res-body").innerHTML = state.tool === "burst" ? renderBurst(r) : state.tool === "trace" ? renderTrace(r) : renderLeak(r);
      const ex = $("btn-export");
      ex.href = `${API}/${state.tool}/export.xlsx?${q}`;
      ex.classList.remove("d-none");
      if (resultGroup.getLayers().length) map.fitBounds(resultGroup.getBounds().pad(0.15), { maxZoom: 17 });
    } catch (e) {
      $("res-title").textContent = "分析结果";
      $("res-body").innerHTML = `<div class="alert alert-danger py-1 small" id="res-error">${esc(e.message)}</div>`;
      toast(e.message, "danger");
    } finally {
      state.busy = false;
    }
  }

  map.on("click", e => { if (!state.busy) run(e.latlng.lat, e.latlng.lng); });
  document.querySelectorAll("input[name=tool]").forEach(el => el.addEventListener("change", () => {
    state.tool = el.value; fillNetworks(); clear();
  }));
  $("f-network").addEventListener("change", () => { state.network = $("f-network").value; showNetwork(state.network); });
  function clear() {
    resultGroup.clearLayers(); state.result = null; $("btn-export").classList.add("d-none");
    $("res-title").textContent = "分析结果";
    $("res-body").innerHTML = `<div class="text-muted small">选择分析工具后，在地图上点击位置。</div>`;
  }
  $("btn-clear").addEventListener("click", clear);
  fillNetworks();
  window.NetPage = { state, map, run };
})();
