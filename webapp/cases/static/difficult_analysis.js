/* 疑难案件分析 (R22): buckets by period and type as a stacked bar chart
   (ECharts, served locally), KPIs, tables and the Excel export. */
(function () {
  "use strict";
  const { esc, call, toast } = window.Difficult;
  const $ = id => document.getElementById(id);
  const chart = echarts.init($("chart"));
  window.addEventListener("resize", () => chart.resize());

  function params() {
    const p = new URLSearchParams({ period: $("a-period").value });
    if ($("a-from").value) p.set("from", $("a-from").value);
    if ($("a-to").value) p.set("to", $("a-to").value);
    if ($("a-type").value) p.set("type", $("a-type").value);
    return p;
  }
  const pct = v => v == null ? "—" : v + "%";

  async function load() {
    const p = params();
    $("btn-export").href = "/api/cases/difficult/analysis.xlsx?" + p;
    try {
      const d = await call("GET", "/api/cases/difficult/analysis?" + p);
      render(d);
    } catch (e) { toast(e.message, "danger"); }
  }

  function render(d) {
    $("range-info").textContent = `${d.period_name}：${d.from} 至 ${d.to}`;
    const t = d.total;
    const kpis = [["标记数", t.marked], ["自动标记", t.auto], ["手动标记", t.manual], ["已确权", t.confirmed],
      ["已解决", t.resolved], ["超时处置", t.overdue], ["解决率", pct(t.resolution_rate)],
      ["平均确权用时", t.avg_confirm_hours == null ? "—" : t.avg_confirm_hours + " 小时"]];
    $("kpi").innerHTML = kpis.map(([k, v]) => `<div class="col"><div class="border rounded p-2 text-center"><div class="small text-muted">${k}</div><div class="h4" data-kpi="${k}">${v}</div></div></div>`).join("");
    const labels = d.labels;
    const typeNames = [...new Set(d.buckets.map(b => b.type_name))];
    const series = typeNames.map(name => ({ name, type: "bar", stack: "marked",
      data: labels.map(l => (d.buckets.find(b => b.label === l && b.type_name === name) || { marked: 0 }).marked) }));
    series.push({ name: "解决率", type: "line", yAxisIndex: 1, data: labels.map(l => {
      const bs = d.buckets.filter(b => b.label === l);
      const m = bs.reduce((s, b) => s + b.marked, 0), r = bs.reduce((s, b) => s + b.resolved, 0);
      return m ? Math.round(r * 1000 / m) / 10 : 0; }) });
    chart.setOption({ animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 40, right: 50, top: 40, bottom: 40 },
      xAxis: { type: "category", data: labels },
      yAxis: [{ type: "value", name: "件", minInterval: 1 }, { type: "value", name: "%", max: 100 }],
      series }, true);
    $("chart").dataset.ready = "1";
    $("dept-body").innerHTML = d.by_dept.map(x => `<tr><td>${esc(x.dept_name)}</td><td>${x.marked}</td><td>${x.resolved}</td><td>${x.overdue}</td></tr>`).join("")
      || '<tr><td colspan="4" class="text-muted">无</td></tr>';
    $("bucket-body").innerHTML = d.buckets.map(b => `<tr><td>${esc(b.label)}</td><td>${esc(b.type_name)}</td><td>${b.marked}</td><td>${b.auto}</td><td>${b.manual}</td><td>${b.confirmed}</td><td>${b.resolved}</td><td>${b.overdue}</td><td>${pct(b.confirm_rate)}</td><td>${pct(b.resolution_rate)}</td><td>${b.avg_confirm_hours == null ? "—" : b.avg_confirm_hours}</td></tr>`).join("")
      || '<tr><td colspan="11" class="text-center text-muted">该时段没有疑难案件</td></tr>';
    $("items-info").textContent = d.items_total > d.items.length ? `（显示最近 ${d.items.length} 件，共 ${d.items_total} 件，完整明细请导出）` : `（共 ${d.items_total} 件）`;
    $("item-body").innerHTML = d.items.map(i => `<tr><td><a href="/cases/${i.case_id}">${esc(i.case_no)}</a></td><td>${esc(i.type_name)}<div class="small text-muted">${esc(i.category_name || "")}</div></td>
      <td class="small">${esc(i.region || "")}</td><td>${esc(i.class_name || "")}</td><td class="small">${esc(i.description)}</td>
      <td>${esc(i.stage_name || "")}</td><td>${esc(i.dept_name || "未确定")}</td>
      <td>${i.overdue ? '<span class="badge text-bg-danger">是</span>' : '<span class="badge text-bg-light">否</span>'}</td><td>${esc(i.status_name)}</td></tr>`).join("");
  }
  $("filter").addEventListener("submit", e => { e.preventDefault(); load(); });
  $("a-period").addEventListener("change", () => { if ($("a-period").value !== "range") { $("a-from").value = ""; $("a-to").value = ""; } });
  load();
})();
