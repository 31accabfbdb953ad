/* 巡检统计（R114）：按人员与时段统计巡查次数、上报问题、工地监护、里程、时长与当前在岗，导出 Excel。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const $ = id => document.getElementById(id);
  const chart = echarts.init($("is-chart"));
  async function load() {
    const q = Insp.period();
    const s = await call("GET", `/api/lifeline/inspection/stats?${q}`);
    Object.entries(s.totals).forEach(([k, v]) => { if ($("k-" + k)) $("k-" + k).textContent = v; });
    $("is-table").querySelector("tbody").innerHTML = s.items.map(r =>
      `<tr><td><a href="/lifeline/inspection/records?user=${r.user_id}">${esc(r.display_name)}</a></td><td>${esc(r.dept_name || "—")}</td>` +
      `<td class="text-end">${r.records}</td><td class="text-end">${r.problems}</td><td class="text-end">${r.site_watch}</td>` +
      `<td class="text-end">${r.km.toFixed(2)}</td><td class="text-end">${r.hours.toFixed(1)}</td>` +
      `<td>${r.on_duty ? '<span class="badge bg-success">在岗</span>' : '<span class="badge bg-secondary">不在岗</span>'}</td></tr>`).join("") ||
      '<tr><td colspan="8" class="text-muted">暂无巡检人员</td></tr>';
    $("btn-export").href = `/api/lifeline/inspection/stats.xlsx?${q}`;
    chart.setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0, data: ["里程（km）", "上报问题", "工地监护"] },
      grid: { left: 40, right: 40, bottom: 30, top: 50 },
      xAxis: { type: "category", data: s.items.map(r => r.display_name) },
      yAxis: [{ type: "value", name: "km" }, { type: "value", name: "个", minInterval: 1 }],
      series: [{ name: "里程（km）", type: "bar", data: s.items.map(r => r.km) },
        { name: "上报问题", type: "bar", yAxisIndex: 1, data: s.items.map(r => r.problems) },
        { name: "工地监护", type: "bar", yAxisIndex: 1, data: s.items.map(r => r.site_watch) }],
    }, true);
    $("is-app").dataset.ready = "1";
  }
  Insp.initPeriod(() => load().catch(e => toast(e.message, "danger")));
  load().catch(e => toast(e.message, "danger"));
})();
