/* 告警管理：告警列表（按级别、状态、管网、时间筛选，按级别着色，统计数），每 10 秒自动刷新。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const $ = id => document.getElementById(id);
  const state = { page: 1, size: 50, total: 0 };

  function fmt(s) { return s ? new Date(s).toLocaleString("zh-CN", { hour12: false }) : "—"; }
  function num(v) { return v == null ? "—" : (Math.round(v * 1000) / 1000); }
  function iso(v) { return v ? new Date(v).toISOString() : ""; }

  function kpis(c) {
    const cells = c.open_by_level.map(l =>
      `<div class="col"><div class="card"><div class="card-body py-2"><div class="small text-muted">未关闭 · ${esc(l.name)}</div>` +
      `<div class="alm-kpi lvl-text-${l.level}" data-kpi-level="${l.level}">${l.count}</div></div></div></div>`);
    const st = c.by_status.map(s => `${esc(s.name)} <b>${s.count}</b>`).join(" · ");
    $("alm-kpis").innerHTML = cells.join("") +
      `<div class="col-lg-4"><div class="card"><div class="card-body py-2"><div class="small text-muted">按状态</div><div class="small" id="kpi-status">${st}</div></div></div></div>`;
  }

  async function load() {
    const q = new URLSearchParams({ page: state.page, size: state.size });
    for (const k of ["level", "status", "network"]) if ($("f-" + k).value) q.set(k, $("f-" + k).value);
    if ($("f-from").value) q.set("from", iso($("f-from").value));
    if ($("f-to").value) q.set("to", iso($("f-to").value));
    if ($("f-open").checked) q.set("open", "1");
    let data;
    try { data = await call("GET", "/api/lifeline/alarms?" + q); } catch (e) { toast(e.message, "danger"); return; }
    state.total = data.total;
    kpis(data.counts);
    $("alarm-table").querySelector("tbody").innerHTML = data.items.map(a =>
      `<tr class="alm-row-${a.level}${a.open ? "" : " alm-closed"}" data-alarm-id="${a.id}">` +
      `<td><a href="/lifeline/alarms/${a.id}">${a.id}</a></td>` +
      `<td><span class="lvl-badge lvl-${a.level}">${esc(a.level_name)}</span></td>` +
      `<td>${esc(a.status_name)}</td><td>${esc(a.network_name)}</td>` +
      `<td>${esc(a.thing.name)}<div class="small text-muted">${esc(a.thing.code)}</div></td>` +
      `<td class="small">${esc(a.message)}</td>` +
      `<td class="text-end">${num(a.last_value)} ${esc(a.datastream.unit)}</td><td class="text-end">${num(a.peak_value)}</td>` +
      `<td class="text-end">${a.count}</td><td class="small">${fmt(a.first_time)}</td><td class="small">${fmt(a.last_time)}</td>` +
      `<td>${a.case_id ? `<a href="/cases/${a.case_id}">案卷</a>` : ""}</td></tr>`).join("") ||
      `<tr><td colspan="12" class="text-center text-muted">暂无告警</td></tr>`;
    $("alm-total").textContent = `共 ${data.total} 条，第 ${state.page} 页`;
    $("alm-updated").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false }) + "（每 10 秒自动刷新）";
  }

  for (const id of ["f-level", "f-status", "f-network", "f-from", "f-to", "f-open"])
    $(id).addEventListener("change", () => { state.page = 1; load(); });
  $("pg-prev").addEventListener("click", () => { if (state.page > 1) { state.page--; load(); } });
  $("pg-next").addEventListener("click", () => { if (state.page * state.size < state.total) { state.page++; load(); } });
  $("alarm-table").addEventListener("click", e => {
    const tr = e.target.closest("tr[data-alarm-id]");
    if (tr && !e.target.closest("a")) location.href = "/lifeline/alarms/" + tr.dataset.alarmId;
  });
  load();
  setInterval(load, 10000);
})();
