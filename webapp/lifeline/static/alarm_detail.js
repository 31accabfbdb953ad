/* 告警详情：监测曲线（含阈值线）、位置、周边传感器、处理记录与处置操作（确认即立案）。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const $ = id => document.getElementById(id);
  const app = $("alarm-detail-app");
  const id = app.dataset.alarmId;
  const canHandle = app.dataset.canHandle === "1";
  const ACTIONS = { confirm: ["确认告警并立案", "btn-danger"], false_alarm: ["标记误报", "btn-outline-secondary"],
                    dispatch: ["派发处置", "btn-warning"], resolve: ["解除告警", "btn-success"] };
  const LEVEL_COLORS = { 1: "#dc3545", 2: "#fd7e14", 3: "#e0b000", 4: "#0d6efd" };
  const CASE_STATUS = { open: "办理中", closed: "已结案", cancelled: "已作废" };
  const chart = echarts.init($("alm-chart"));
  const mapEl = $("alm-map");
  const map = L.map(mapEl, { minZoom: 8, maxZoom: 19 }).setView([33.383, 114.021], 15);
  L.tileLayer(mapEl.dataset.basemapUrl, { maxZoom: 19, attribution: "离线底图 © 西平县城市运行管理服务平台" }).addTo(map);
  const layer = L.featureGroup().addTo(map);
  let alarm = null;

  function fmt(s) { return s ? new Date(s).toLocaleString("zh-CN", { hour12: false }) : "—"; }

  function render(a) {
    alarm = a;
    $("alm-title").textContent = `告警 ${a.id} · ${a.thing.name}`;
    $("alm-level").innerHTML = `<span class="lvl-badge lvl-${a.level}">${esc(a.level_name)}</span>`;
    $("alm-status").textContent = a.status_name;
    $("alm-case").innerHTML = a.case ? `关联案卷：<a id="case-link" href="/cases/${a.case.id}">${esc(a.case.case_no)}</a>` +
      `（${esc(CASE_STATUS[a.case.status] || a.case.status)}）` : "";
    $("alm-info").innerHTML = [
      ["告警内容", esc(a.message)], ["规则", `${esc(a.rule.name)}（${esc(a.kind_name)}）`],
      ["管网", esc(a.network_name)], ["设备", `${esc(a.thing.name)}<br><span class="text-muted">${esc(a.thing.code)} · ${esc(a.thing.kind_name || "")}</span>`],
      ["权属单位", esc(a.thing.dept_name || "—")], ["数据流", `${esc(a.datastream.name)}（${esc(a.datastream.unit)}）`],
      ["最新值 / 峰值", `${a.last_value ?? "—"} / ${a.peak_value ?? "—"}`], ["累计次数", a.count],
      ["首次告警", fmt(a.first_time)], ["最近告警", fmt(a.last_time)],
      ["关联隐患", a.hazard_id ? `隐患 ${a.hazard_id}` : "—"]]
      .map(([k, v]) => `<div class="d-flex"><span class="text-muted me-2" style="min-width:6em">${k}</span><span>${v}</span></div>`).join("");
    $("history-table").querySelector("tbody").innerHTML = a.history.map(h =>
      `<tr><td class="small">${fmt(h.at)}</td><td>${esc(h.action_name)}</td><td>${esc(h.to_status_name)}</td>` +
      `<td>${esc(h.actor_name || "")}</td><td class="small">${esc(h.comment || "")}` +
      `${h.detail && h.detail.case_no ? `（案卷 ${esc(h.detail.case_no)}）` : ""}</td></tr>`).join("");
    if (canHandle) {
      $("act-buttons").innerHTML = a.actions.map(k =>
        `<button class="btn btn-sm ${ACTIONS[k][1]}" data-action="${k}">${ACTIONS[k][0]}</button>`).join("") ||
        `<span class="text-muted small">当前状态无可执行操作</span>`;
      $("act-class-wrap").classList.toggle("d-none", !a.actions.includes("confirm"));
      const cls = { gas: "0403", water: "0402", drainage: "0404" }[a.network] || "0401";
      $("act-class").value = cls;
    }
    layer.clearLayers();
    L.circleMarker([a.thing.lat, a.thing.lon], { radius: 10, color: LEVEL_COLORS[a.level], fillOpacity: .8 })
      .bindTooltip(a.thing.name, { permanent: true, direction: "top" }).addTo(layer);
    (a.neighbours || []).forEach(n => { /* drawn below from the table data */ });
    map.setView([a.thing.lat, a.thing.lon], 16);
    $("nb-table").querySelector("tbody").innerHTML = (a.neighbours || []).map(n =>
      `<tr><td>${esc(n.name)}</td><td>${esc(n.ds_name)}</td><td class="text-end${n.alarm_level ? " lvl-text-" + n.alarm_level : ""}">` +
      `${n.last_value ?? "—"} ${esc(n.unit)}</td><td class="text-end">${n.dist} 米</td></tr>`).join("") ||
      `<tr><td colspan="4" class="text-muted text-center">500 米内无其他传感器</td></tr>`;
  }

  async function curve(a) {
    const to = new Date(Math.max(Date.now(), new Date(a.last_time).getTime() + 60000));
    const from = new Date(Math.min(new Date(a.first_time).getTime() - 6 * 3600e3, to.getTime() - 6 * 3600e3));
    const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
    const s = await call("GET", `/api/lifeline/iot/datastreams/${a.datastream.id}/observations?${q}`);
    const th = a.datastream.thresholds || {};
    const lines = [];
    for (const side of ["high", "low"])
      for (const [lvl, v] of Object.entries(th[side] || {}))
        lines.push({ yAxis: v, name: `${lvl}级${side === "high" ? "上限" : "下限"}`,
                     lineStyle: { color: LEVEL_COLORS[lvl], type: "dashed" }, label: { formatter: `${lvl}级 ${v}` } });
    $("chart-title").textContent = `监测曲线：${a.datastream.name}（${a.datastream.unit}）${s.downsampled ? " · 已按时段平均" : ""}`;
    chart.setOption({
      grid: { left: 50, right: 70, top: 20, bottom: 40 }, tooltip: { trigger: "axis" },
      xAxis: { type: "time" }, yAxis: { type: "value", scale: true },
      series: [{ type: "line", name: a.datastream.name, showSymbol: false, data: s.points.map(p => [p[0], p[1]]),
                 markLine: { symbol: "none", data: lines },
                 markArea: { itemStyle: { color: "rgba(220,53,69,.08)" }, data: [[{ xAxis: a.first_time }, { xAxis: a.last_time }]] } }]
    });
  }

  async function load() {
    try {
      const a = await call("GET", `/api/lifeline/alarms/${id}`);
      render(a);
      await curve(a);
    } catch (e) { toast(e.message, "danger"); }
  }

  if (canHandle) $("act-buttons").addEventListener("click", async e => {
    const b = e.target.closest("button[data-action]");
    if (!b) return;
    const body = { action: b.dataset.action, comment: $("act-comment").value.trim(), version: alarm.version };
    if (body.action === "confirm") body.class_code = $("act-class").value;
    b.disabled = true;
    try {
      const a = await call("POST", `/api/lifeline/alarms/${id}/actions`, body);
      a.neighbours = alarm.neighbours;
      render(a);
      $("act-comment").value = "";
      toast(a.case && body.action === "confirm" ? `已确认，已立案：${a.case.case_no}` : "操作成功");
    } catch (err) {
      toast(err.message, "danger");
      if (err.status === 409) load();
    } finally { b.disabled = false; }
  });
  window.addEventListener("resize", () => chart.resize());
  load();
})();
