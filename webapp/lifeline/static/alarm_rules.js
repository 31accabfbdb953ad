/* 告警规则配置：按数据流查看、新增、修改、启停告警规则（需“维护监测设备、数据流与告警规则”权限）。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const $ = id => document.getElementById(id);
  const HELP = {
    threshold: '{"high": {"1": 50, "2": 25, "3": 10}, "low": {}} —— 按级别的上限/下限，一级最严重',
    rate: '{"delta_per_min": 5, "direction": "up"} —— 相邻两次读数每分钟变化量，direction 为 up/down/any',
    duration: '{"op": ">=", "value": 10, "minutes": 5} —— 条件持续满足 N 分钟才告警',
    offline: '{"periods": 3} —— 连续 N 个采样周期无数据即告警（由定时巡检判定）',
    combination: '{"terms": [{"datastream_id": 1, "op": ">=", "value": 25}, {"datastream_id": 2, "op": ">=", "value": 10}], "within_minutes": 10} —— 同一站点（500 米内）多个传感器在时间窗口内同时满足'
  };
  let rules = [], editing = null;
  const modal = new bootstrap.Modal($("rule-modal"));

  function params(p) { return `<code class="small">${esc(JSON.stringify(p))}</code>`; }

  function draw() {
    const q = $("f-q").value.trim();
    $("rules-table").querySelector("tbody").innerHTML = rules
      .filter(r => !q || r.datastream.thing_code.includes(q) || r.datastream.thing_name.includes(q))
      .map(r => `<tr data-id="${r.id}"><td>${esc(r.datastream.thing_name)}<div class="small text-muted">${esc(r.datastream.thing_code)}</div></td>` +
        `<td>${esc(r.datastream.ds_name)}（${esc(r.datastream.unit)}）<div class="small text-muted">#${r.datastream_id}</div></td>` +
        `<td>${esc(r.name)}</td><td>${esc(r.kind_name)}</td>` +
        `<td>${r.kind === "threshold" ? "按阈值" : `<span class="lvl-badge lvl-${r.level}">${esc(r.level_name)}</span>`}</td>` +
        `<td>${params(r.params)}</td><td>${r.enabled ? "是" : "否"}</td><td>${r.derived ? "设备阈值派生" : "人工配置"}</td>` +
        `<td><button class="btn btn-sm btn-outline-primary" data-edit="${r.id}">编辑</button></td></tr>`).join("");
  }

  async function load() {
    try { rules = (await call("GET", "/api/lifeline/alarm-rules")).items; draw(); } catch (e) { toast(e.message, "danger"); }
  }

  function open(r) {
    editing = r;
    $("rule-modal-title").textContent = r ? `编辑规则 ${r.id}` : "新增告警规则";
    $("r-ds").value = r ? r.datastream_id : ""; $("r-ds").disabled = !!r;
    $("r-kind").value = r ? r.kind : "threshold"; $("r-kind").disabled = !!r;
    $("r-name").value = r ? r.name : ""; $("r-level").value = r ? r.level : 3;
    $("r-params").value = r ? JSON.stringify(r.params, null, 1) : "";
    $("r-enabled").checked = r ? r.enabled : true;
    $("r-help").textContent = HELP[$("r-kind").value];
    modal.show();
  }

  $("r-kind").addEventListener("change", () => { $("r-help").textContent = HELP[$("r-kind").value]; });
  $("btn-new").addEventListener("click", () => open(null));
  $("f-q").addEventListener("input", draw);
  $("rules-table").addEventListener("click", e => {
    const b = e.target.closest("[data-edit]");
    if (b) open(rules.find(r => r.id === +b.dataset.edit));
  });
  $("r-save").addEventListener("click", async () => {
    let p;
    try { p = JSON.parse($("r-params").value || "{}"); } catch (e) { toast("参数不是合法的 JSON", "danger"); return; }
    const body = { name: $("r-name").value.trim(), level: +$("r-level").value, params: p, enabled: $("r-enabled").checked };
    try {
      if (editing) await call("PUT", `/api/lifeline/alarm-rules/${editing.id}`, { ...body, version: editing.version });
      else await call("POST", "/api/lifeline/alarm-rules", { ...body, datastream_id: +$("r-ds").value, kind: $("r-kind").value });
      modal.hide(); toast("已保存"); load();
    } catch (e) { toast(e.message, "danger"); }
  });
  load();
})();
