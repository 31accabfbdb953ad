/* 数据对接 page: sources with sync state, run-now, run log, GIS import with field mapping, keys and CSV upload. */
(function () {
  "use strict";
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  const $ = (s) => document.querySelector(s);
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const STATE = { ok: "正常", error: "异常", never: "未同步", disabled: "已停用" };
  let sources = [], current = null, upload = null;

  async function call(method, url, body, isForm) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      if (isForm) { opts.body = body; } else { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    }
    const r = await fetch(url, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) { const err = new Error((data && data.error && data.error.message) || ("请求失败（" + r.status + "）")); err.data = data; throw err; }
    return data;
  }
  function toast(msg, kind) {
    const d = document.createElement("div");
    d.className = "alert alert-" + (kind || "success") + " py-2 shadow-sm";
    d.textContent = msg;
    $("#toast-area").appendChild(d);
    setTimeout(() => d.remove(), 6000);
  }
  const fmt = (t) => t ? new Date(t).toLocaleString("zh-CN", { hour12: false }) : "—";
  function lag(s) {
    if (s == null) return "—";
    if (s < 120) return s + " 秒";
    if (s < 7200) return Math.round(s / 60) + " 分钟";
    if (s < 172800) return Math.round(s / 3600) + " 小时";
    return Math.round(s / 86400) + " 天";
  }

  async function load() {
    sources = (await call("GET", "/api/lifeline/docking/sources")).items;
    $("#dk-table tbody").innerHTML = sources.map(s => `<tr data-id="${s.id}" class="${current && current.id === s.id ? "active" : ""}">
      <td>${esc(s.code)}</td><td>${esc(s.name)}</td><td>${esc(s.network_name)}</td><td>${esc(s.kind_name)}</td>
      <td>${esc(s.dept_name || "")}</td><td class="dk-state-${s.status}" data-state="${s.status}">${STATE[s.status]}</td>
      <td>${fmt(s.last_run_at)}</td><td>${fmt(s.last_success_at)}</td><td>${s.rows_in} / ${s.rows_rejected}</td>
      <td>${lag(s.lag_s)}</td><td class="text-danger small">${esc(s.last_error || "")}</td>
      <td class="text-nowrap">${s.kind === "opcua" ? `<button class="btn btn-outline-primary btn-sm dk-run" data-id="${s.id}" type="button">立即同步</button>` : ""}
        <button class="btn btn-link btn-sm dk-open" data-id="${s.id}" type="button">详情</button></td></tr>`).join("");
    if (current) { current = sources.find(s => s.id === current.id) || null; if (current) await showRuns(); }
  }

  async function showRuns() {
    const runs = (await call("GET", `/api/lifeline/docking/sources/${current.id}/runs`)).items;
    $("#dk-runs tbody").innerHTML = runs.map(r => `<tr><td>${fmt(r.started_at)}</td><td>${esc(r.kind_name)}</td>
      <td class="${r.ok ? "text-success" : "text-danger"}">${r.ok ? "成功" : "失败"}</td><td>${r.rows_in}</td><td>${r.inserted}</td>
      <td>${r.updated}</td><td>${r.unchanged}</td><td>${r.rows_rejected}</td>
      <td class="small">${esc(r.error || "")}${r.has_rejected ? ` <a href="/api/lifeline/docking/runs/${r.id}/rejected.csv">下载被拒绝记录</a>` : ""}</td></tr>`).join("")
      || `<tr><td colspan="9" class="text-muted">暂无同步记录</td></tr>`;
  }

  function open(id) {
    current = sources.find(s => s.id === id);
    document.querySelectorAll("#dk-table tr").forEach(tr => tr.classList.toggle("active", tr.dataset.id == id));
    $("#dk-detail").hidden = false;
    $("#dk-detail-title").textContent = `${current.name}（${current.code}）`;
    $("#dk-gis").hidden = current.kind !== "gis_file";
    $("#dk-push").hidden = !["http_push", "csv_push"].includes(current.kind);
    $("#dk-opcua").hidden = current.kind !== "opcua";
    $("#dk-gis-mapping").hidden = true; $("#dk-gis-info").textContent = ""; $("#dk-gis-report").innerHTML = "";
    $("#dk-push-url").textContent = `${location.origin}/api/lifeline/docking/${current.id}/push`;
    $("#dk-key-id").textContent = current.api_key_id || "未生成"; $("#dk-key-shown").textContent = "";
    const st = current.settings || {};
    $("#dk-endpoint").textContent = st.endpoint || ""; $("#dk-security").textContent = st.security_mode || "None";
    $("#dk-nodes tbody").innerHTML = (st.nodes || []).map(n => `<tr><td><code>${esc(n.node_id)}</code></td><td>${esc(n.datastream)}</td></tr>`).join("");
    showRuns();
  }

  // -- GIS import ------------------------------------------------------------
  function mappingBody() {
    const fields = {};
    document.querySelectorAll("#dk-map select").forEach(s => { if (s.value) fields[s.dataset.target] = s.value; });
    const materials = {};
    $("#dk-materials").value.split(/\n/).forEach(l => { const [a, b] = l.split("="); if (a && b) materials[a.trim()] = b.trim(); });
    return { upload: upload.upload, layer: $("#dk-layer").value || null, allow_partial: $("#dk-partial").checked,
             mapping: { fields, materials, units: { diameter_mm: $("#dk-unit-d").value, depth_m: $("#dk-unit-h").value },
                        target_network: $("#dk-target").value } };
  }
  function showMapping(info) {
    upload = info;
    $("#dk-gis-info").textContent = `${info.file_name}：${info.format}，图层“${info.layer}”，${info.feature_count} 个要素，坐标系 ${info.crs || "未识别"}` +
      (info.mapping.saved ? "；已套用上次保存的字段映射" : "；已按字段名推测映射，请核对");
    $("#dk-layer").innerHTML = (info.layers.length ? info.layers : [{ name: info.layer }]).map(l => `<option ${l.name === info.layer ? "selected" : ""}>${esc(l.name)}</option>`).join("");
    $("#dk-target").innerHTML = info.target_networks.map(n => `<option value="${n}" ${info.mapping.target_network === n ? "selected" : ""}>${{ water: "供水", gas: "燃气", heating: "供热", sewage: "污水", rain: "雨水" }[n]}</option>`).join("");
    const units = info.mapping.units || {};
    $("#dk-unit-d").value = units.diameter_mm || "mm"; $("#dk-unit-h").value = units.depth_m || "m";
    $("#dk-materials").value = Object.entries(info.mapping.materials || {}).map(([a, b]) => `${a}=${b}`).join("\n");
    $("#dk-map tbody").innerHTML = info.targets.map(t => `<tr><td>${esc(t.label)}${t.required ? ' <span class="text-danger">*</span>' : ""}</td>
      <td><select class="form-select form-select-sm" data-target="${t.key}" aria-label="${esc(t.label)}"><option value="">（不导入）</option>
      ${info.fields.map(f => `<option ${info.mapping.fields[t.key] === f ? "selected" : ""}>${esc(f)}</option>`).join("")}</select></td></tr>`).join("");
    $("#dk-gis-mapping").hidden = false;
  }
  function showReport(r, title) {
    const problems = (r.problems || []).map(p => `${esc(p.name)} ${p.count} 个`).join("；");
    const rows = (r.problem_rows || []).slice(0, 10).map(p => `<li>第 ${p.row} 个要素：${esc(p.name)}——${esc(p.message)}</li>`).join("");
    const counts = r.inserted != null ? `新增 ${r.inserted}，更新 ${r.updated}，未变 ${r.unchanged}，拒绝 ${r.rejected}` :
      `共 ${r.feature_count} 个要素，可导入 ${r.valid}，有问题 ${r.rejected}，将新建管点 ${r.new_nodes}`;
    $("#dk-gis-report").innerHTML = `<div class="alert alert-${r.rejected ? "warning" : "success"} py-2 mb-1" id="dk-report-summary">${esc(title)}：${counts}${problems ? "<br>" + problems : ""}</div><ul class="mb-0">${rows}</ul>`;
  }

  document.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    try {
      if (b.classList.contains("dk-open")) open(+b.dataset.id);
      else if (b.classList.contains("dk-run")) {
        b.disabled = true;
        const r = await call("POST", `/api/lifeline/docking/sources/${b.dataset.id}/run`);
        toast(r.ok ? `同步完成：入库 ${r.accepted}，重复 ${r.duplicate}，拒绝 ${r.rows_rejected}` : r.error, r.ok ? "success" : "danger");
        if (!current || current.id !== +b.dataset.id) { await load(); open(+b.dataset.id); } else await load();
      } else if (b.id === "dk-reload") await load();
      else if (b.id === "dk-validate") showReport(await call("POST", `/api/lifeline/docking/sources/${current.id}/gis/validate`, mappingBody()), "校验结果");
      else if (b.id === "dk-import") {
        const r = await call("POST", `/api/lifeline/docking/sources/${current.id}/gis/import`, mappingBody());
        showReport(r, "导入完成"); toast(`导入完成：新增 ${r.inserted}，更新 ${r.updated}，未变 ${r.unchanged}`); await load();
      } else if (b.id === "dk-new-key") {
        const r = await call("POST", `/api/lifeline/docking/sources/${current.id}/api-key`, {});
        $("#dk-key-id").textContent = r.key_id;
        $("#dk-key-shown").innerHTML = `新密钥（只显示这一次，请交给对方系统保存）：<code>${esc(r.api_key)}</code>`;
        await load();
      }
    } catch (e) {
      if (e.data && e.data.error && e.data.error.details && e.data.error.details.problems) showReport(e.data.error.details, "未导入");
      toast(e.message, "danger");
    } finally { b.disabled = false; }
  });
  $("#dk-gis-file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    const fd = new FormData(); fd.append("file", f);
    try { showMapping(await call("POST", `/api/lifeline/docking/sources/${current.id}/gis/upload`, fd, true)); }
    catch (e) { toast(e.message, "danger"); }
  });
  $("#dk-layer").addEventListener("change", async () => {
    try { showReport(await call("POST", `/api/lifeline/docking/sources/${current.id}/gis/validate`, mappingBody()), "校验结果"); }
    catch (e) { toast(e.message, "danger"); }
  });
  $("#dk-csv-file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    const fd = new FormData(); fd.append("file", f);
    try {
      const r = await call("POST", `/api/lifeline/docking/sources/${current.id}/csv`, fd, true);
      $("#dk-csv-report").innerHTML = `入库 ${r.accepted}，重复 ${r.duplicate}，拒绝 ${r.rejected}` +
        `<ul>${r.report.slice(0, 10).map(p => `<li>第 ${p.row} 行：${esc(p.name)}——${esc(p.message)}</li>`).join("")}</ul>`;
      await load();
    } catch (e) { toast(e.message, "danger"); }
  });
  load().catch(e => toast(e.message, "danger"));
})();
