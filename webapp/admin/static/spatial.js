/* 空间基础数据：上传 → 解析报告 → 坐标系与几何检查 → 发布为 OGC 图层；已上传图层列表与删除。
   Calls /api/admin/spatial/… with the session cookie and the CSRF token. */
(function () {
  "use strict";
  const API = "/api/admin/spatial";
  const $ = id => document.getElementById(id);
  const app = $("spatial-app");
  const canEdit = app.dataset.canEdit === "1";
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  const GEOM = { Point: "点", MultiPoint: "多点", LineString: "线", MultiLineString: "多线", Polygon: "面", MultiPolygon: "多面" };
  const state = { file: null, report: null, checked: null };

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  async function call(method, url, body, isForm) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      if (isForm) { opts.body = body; } else { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    }
    const r = await fetch(url, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const err = new Error((data && data.error && data.error.message) || ("请求失败（" + r.status + "）"));
      err.status = r.status; err.data = data;
      throw err;
    }
    return data;
  }
  function msg(text, kind) {
    $("spatial-msg").innerHTML = text ? '<div class="alert alert-' + (kind || "success") + ' py-2">' + esc(text) + "</div>" : "";
  }
  function fmtBbox(b) { return b ? b.map(v => Number(v).toFixed(5)).join(", ") : "—"; }
  function geomText(types) {
    return Object.entries(types || {}).map(([k, n]) => (GEOM[k] || k) + " " + n).join("，") || "—";
  }

  // -- step 1 -------------------------------------------------------------------
  function renderInspect(rep) {
    const crs = rep.crs_detected ? esc(rep.crs_label)
      : '<span class="crs-missing" id="crs-missing">未识别坐标系</span>（请在右侧选择）';
    const fields = rep.fields.map(f => "<tr><td>" + esc(f.title) + "</td><td><code>" + esc(f.name) + "</code></td><td>" +
      esc(f.type_name) + "</td></tr>").join("");
    const notes = (rep.notes || []).map(n => '<div class="text-warning-emphasis">' + esc(n) + "</div>").join("");
    $("inspect-report").className = "small";
    $("inspect-report").innerHTML =
      '<dl class="report" id="inspect-facts">' +
      "<dt>文件</dt><dd>" + esc(rep.file_name) + "（" + esc(rep.format_name) + "）</dd>" +
      (rep.layer ? "<dt>图层</dt><dd>" + esc(rep.layer) + "</dd>" : "") +
      '<dt>要素数</dt><dd id="inspect-count">' + rep.feature_count + "</dd>" +
      "<dt>几何类型</dt><dd>" + esc(geomText(rep.geometry_types)) + "</dd>" +
      '<dt>坐标系</dt><dd id="inspect-crs">' + crs + "</dd>" +
      "<dt>范围</dt><dd>" + esc(fmtBbox(rep.bbox)) + "</dd>" +
      (rep.encoding ? "<dt>编码</dt><dd>" + esc(rep.encoding) + "</dd>" : "") +
      (rep.csv_columns ? "<dt>坐标列</dt><dd>" + esc(Object.values(rep.csv_columns).join("、")) + "</dd>" : "") +
      "</dl>" + notes +
      '<table class="table table-sm mt-2 mb-0" id="field-table"><thead><tr><th>原字段名</th><th>列名</th><th>类型</th></tr></thead><tbody>' +
      (fields || '<tr><td colspan="3" class="text-muted">无属性字段</td></tr>') + "</tbody></table>";
    const choice = $("layer-choice");
    if (rep.layers && rep.layers.length > 1) {
      $("f-layer").innerHTML = rep.layers.map(l => '<option value="' + esc(l.name) + '"' + (l.name === rep.layer ? " selected" : "") +
        ">" + esc(l.name) + "（" + esc(GEOM[l.geometry_type] || l.geometry_type) + "）</option>").join("");
      choice.hidden = false;
    } else {
      choice.hidden = true;
    }
    $("f-crs").value = rep.crs_detected ? "" : "";
    $("f-crs").querySelector('option[value=""]').textContent = rep.crs_detected ? "（使用文件中的坐标系：" + rep.crs + "）" : "（请选择）";
    ["f-crs", "f-repair", "btn-check"].forEach(id => { $(id).disabled = false; });
    $("btn-publish").disabled = true;
    $("check-report").innerHTML = "";
    if (!$("f-id").value) { $("f-id").value = rep.suggested_id || ""; }
    if (!$("f-title").value) { $("f-title").value = (rep.layer || rep.file_name || "").replace(/\.[^.]+$/, ""); }
  }

  async function upload(layer) {
    const fd = new FormData();
    fd.append("file", state.file);
    if (layer) { fd.append("layer", layer); }
    $("btn-upload").disabled = true;
    $("inspect-report").innerHTML = '<span class="text-muted">正在上传并解析…</span>';
    try {
      state.report = await call("POST", API + "/uploads", fd, true);
      state.checked = null;
      renderInspect(state.report);
      msg("已解析“" + state.report.file_name + "”：" + state.report.feature_count + " 个要素，请检查坐标系与几何");
    } catch (e) {
      state.report = null;
      $("inspect-report").innerHTML = '<span class="text-danger">' + esc(e.message) + "</span>";
      msg(e.message, "danger");
    } finally {
      $("btn-upload").disabled = false;
    }
  }

  // -- step 2 -------------------------------------------------------------------
  function params() {
    const p = { upload: state.report.upload, repair: $("f-repair").checked };
    if (state.report.layer && state.report.format === "gpkg") { p.layer = state.report.layer; }
    if ($("f-crs").value) { p.crs = $("f-crs").value; }
    return p;
  }
  function renderCheck(res) {
    const head = res.ok
      ? '<div class="alert alert-success py-2 mb-2" id="check-ok">检查通过：' + res.feature_count + " 个要素全部有效，位于县域内" +
        (res.repaired_count ? "（其中 " + res.repaired_count + " 个无效几何将用 ST_MakeValid 修复）" : "") +
        "；导入后几何类型为" + esc(GEOM[res.geometry_type] || res.geometry_type) + "，坐标系 " + esc(res.crs_label) + "</div>"
      : '<div class="alert alert-danger py-2 mb-2" id="check-failed">检查未通过，不能发布。请修正数据后重新上传' +
        (res.problems.some(p => p.code === "geometry_invalid") ? "，或勾选“用 ST_MakeValid 自动修复”" : "") + "。</div>";
    const counts = res.problems.map(p => "<tr><td>" + esc(p.name) + "</td><td><code>" + esc(p.code) + "</code></td><td class=\"text-end\">" +
      p.count + "</td></tr>").join("");
    const rows = (res.problem_rows || []).map(r => "<tr><td>" + r.row + "</td><td>" + esc(r.name) + "</td><td>" + esc(r.message) + "</td></tr>").join("");
    $("check-report").innerHTML = head +
      (counts ? '<table class="table table-sm" id="problem-counts"><thead><tr><th>问题</th><th>代码</th><th class="text-end">数量</th></tr></thead><tbody>' + counts + "</tbody></table>" : "") +
      (rows ? '<div class="fw-semibold mb-1">前 ' + res.problem_rows.length + ' 条问题要素</div><table class="table table-sm" id="problem-rows"><thead><tr><th>行号</th><th>问题</th><th>说明</th></tr></thead><tbody>' + rows + "</tbody></table>" : "");
    $("btn-publish").disabled = !res.ok;
  }
  async function runCheck() {
    $("btn-check").disabled = true;
    $("check-report").innerHTML = '<span class="text-muted">正在逐个检查几何…</span>';
    try {
      state.checked = await call("POST", API + "/check", params());
      renderCheck(state.checked);
      msg(state.checked.ok ? "几何检查通过，可以发布" : "几何检查未通过", state.checked.ok ? "success" : "warning");
    } catch (e) {
      $("check-report").innerHTML = '<div class="alert alert-danger py-2" id="check-error">' + esc(e.message) + "</div>";
      $("btn-publish").disabled = true;
    } finally {
      $("btn-check").disabled = false;
    }
  }

  // -- step 3 -------------------------------------------------------------------
  async function publish(ev) {
    ev.preventDefault();
    const body = Object.assign(params(), {
      id: $("f-id").value.trim(), title: $("f-title").value.trim(), description: $("f-desc").value.trim(),
      access: $("f-access").value, color: $("f-color").value, file_name: state.report.file_name
    });
    $("btn-publish").disabled = true;
    try {
      const row = await call("POST", API + "/layers", body);
      msg("已发布图层“" + row.title + "”（" + row.id + "，" + row.feature_count + " 个要素），OGC API 地址 " + row.ogc_url + "，可在综合地图中查看");
      state.report = null; state.checked = null;
      $("upload-form").reset(); $("publish-form").reset();
      $("inspect-report").className = "text-muted small"; $("inspect-report").textContent = "尚未上传文件";
      $("check-report").innerHTML = "";
      ["f-crs", "f-repair", "btn-check"].forEach(id => { $(id).disabled = true; });
      await loadLayers();
    } catch (e) {
      msg(e.message, "danger");
      $("btn-publish").disabled = false;
    }
  }

  // -- list -----------------------------------------------------------------------
  async function loadLayers() {
    const data = await call("GET", API + "/layers");
    $("layer-count").textContent = "共 " + data.total + " 个";
    const tbody = $("layer-table").querySelector("tbody");
    if (!data.items.length) { tbody.innerHTML = '<tr><td colspan="10" class="text-muted">暂无上传的图层</td></tr>'; return; }
    tbody.innerHTML = data.items.map(r =>
      '<tr data-id="' + esc(r.id) + '"><td><code>' + esc(r.id) + "</code></td><td>" +
      '<span class="swatch" style="background:' + esc(r.style.color || "#888") + '"></span> ' + esc(r.title) + "</td><td>" +
      esc(GEOM[r.geometry_type] || r.geometry_type) + '</td><td class="text-end">' + r.feature_count.toLocaleString("zh-CN") +
      (r.repaired_count ? '<div class="text-muted small">修复 ' + r.repaired_count + "</div>" : "") + "</td><td>" + esc(r.crs) +
      (r.crs_detected ? "" : '<div class="text-muted small">人工指定</div>') + "</td><td>" + esc(r.source_file) +
      '<div class="text-muted small">' + esc(r.format_name) + "</div></td><td>" + (r.access === "public" ? "公开" : "内部") + "</td><td>" +
      esc(r.created_by || "") + "</td><td>" + esc((r.created_at || "").replace("T", " ").slice(0, 16)) + "</td><td class=\"text-nowrap\">" +
      '<a class="btn btn-link btn-sm p-0 me-2" href="' + esc(r.ogc_url) + '?f=html" target="_blank">OGC</a>' +
      '<a class="btn btn-link btn-sm p-0 me-2" href="/">地图</a>' +
      (canEdit ? '<button class="btn btn-link btn-sm text-danger p-0 btn-del" type="button">删除</button>' : "") + "</td></tr>").join("");
    tbody.querySelectorAll(".btn-del").forEach(btn => {
      btn.onclick = async () => {
        const id = btn.closest("tr").dataset.id;
        if (!confirm("确定删除图层“" + id + "”吗？将同时删除其数据表和 OGC 服务，不可恢复。")) { return; }
        try {
          await call("DELETE", API + "/layers/" + encodeURIComponent(id));
          msg("已删除图层“" + id + "”");
          await loadLayers();
        } catch (e) { msg(e.message, "danger"); }
      };
    });
  }

  if (canEdit) {
    $("upload-form").addEventListener("submit", ev => {
      ev.preventDefault();
      state.file = $("f-file").files[0] || null;
      if (!state.file) { msg("请选择要上传的文件", "warning"); return; }
      upload(null);
    });
    $("f-layer").addEventListener("change", () => upload($("f-layer").value));
    $("btn-check").addEventListener("click", runCheck);
    ["f-crs", "f-repair"].forEach(id => $(id).addEventListener("change", () => { $("btn-publish").disabled = true; }));
    $("publish-form").addEventListener("submit", publish);
  }
  loadLayers().catch(e => msg(e.message, "danger"));
})();
