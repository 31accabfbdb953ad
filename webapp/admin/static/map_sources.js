/* 地图源配置：列表、新增/修改（version 乐观锁）、设为默认、删除。Calls /api/admin/map-sources. */
(function () {
  "use strict";
  const API = "/api/admin/map-sources";
  const $ = id => document.getElementById(id);
  const canEdit = $("ms-app").dataset.canEdit === "1";
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  let items = [];

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  async function call(method, url, body) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, credentials: "same-origin" };
    if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    const r = await fetch(url, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) { throw new Error((data && data.error && data.error.message) || ("请求失败（" + r.status + "）")); }
    return data;
  }
  function msg(text, kind) {
    $("ms-msg").innerHTML = text ? '<div class="alert alert-' + (kind || "success") + ' py-2">' + esc(text) + "</div>" : "";
  }
  function where(s) {
    if (s.kind === "offline") { return "本系统 /basemap 瓦片"; }
    if (s.kind === "tianditu") { return "天地图 " + esc(s.tdt_layer) + (s.tdt_annotation ? " + 注记" : "") + "，密钥 " + esc((s.tdt_key || "").slice(0, 6)) + "…"; }
    if (s.kind === "wms") { return esc(s.url) + "<div class=\"text-muted small\">layers=" + esc(s.wms_layers) + "</div>"; }
    return esc(s.url);
  }

  async function load() {
    const data = await call("GET", API);
    items = data.items;
    const tbody = $("ms-table").querySelector("tbody");
    tbody.innerHTML = items.map(s =>
      '<tr data-id="' + s.id + '"><td>' + esc(s.name) + (s.is_default ? ' <span class="badge text-bg-primary">默认</span>' : "") +
      "</td><td>" + esc(s.kind_name) + '</td><td class="text-break">' + where(s) + "</td><td>" + s.min_zoom + "–" + s.max_zoom +
      "</td><td>" + (s.enabled ? '<span class="text-success">启用</span>' : '<span class="text-muted">停用</span>') + '</td><td class="text-nowrap">' +
      (canEdit ? '<button class="btn btn-link btn-sm p-0 me-2 ms-edit" type="button">修改</button>' +
        (s.is_default ? "" : '<button class="btn btn-link btn-sm p-0 me-2 ms-default" type="button">设为默认</button>' +
          '<button class="btn btn-link btn-sm p-0 text-danger ms-del" type="button">删除</button>') : "") +
      "</td></tr>").join("") || '<tr><td colspan="6" class="text-muted">暂无地图源</td></tr>';
    tbody.querySelectorAll("tr[data-id]").forEach(tr => {
      const s = items.find(i => String(i.id) === tr.dataset.id);
      const on = (sel, fn) => { const b = tr.querySelector(sel); if (b) { b.onclick = () => fn(s); } };
      on(".ms-edit", edit);
      on(".ms-default", s => call("PATCH", API + "/" + s.id, { is_default: true, version: s.version })
        .then(() => { msg("已将“" + s.name + "”设为默认底图"); return load(); }).catch(e => msg(e.message, "danger")));
      on(".ms-del", s => {
        if (!confirm("确定删除地图源“" + s.name + "”吗？")) { return; }
        call("DELETE", API + "/" + s.id).then(() => { msg("已删除地图源“" + s.name + "”"); return load(); })
          .catch(e => msg(e.message, "danger"));
      });
    });
  }

  function setKind(kind) { $("ms-form").dataset.kind = kind; }
  function edit(s) {
    $("ms-form-title").textContent = "修改地图源：" + s.name;
    $("m-id").value = s.id; $("m-version").value = s.version;
    $("m-name").value = s.name; $("m-kind").value = s.kind; setKind(s.kind);
    $("m-url").value = s.url || ""; $("m-wms-layers").value = s.wms_layers || ""; $("m-wms-format").value = s.wms_format || "image/png";
    $("m-tdt-layer").value = s.tdt_layer || "vec"; $("m-tdt-key").value = s.tdt_key || ""; $("m-tdt-annotation").checked = !!s.tdt_annotation;
    $("m-attribution").value = s.attribution || ""; $("m-min").value = s.min_zoom; $("m-max").value = s.max_zoom; $("m-sort").value = s.sort;
    $("m-crs-note").value = s.crs_note || ""; $("m-enabled").checked = s.enabled; $("m-default").checked = s.is_default;
  }
  function reset() {
    $("ms-form").reset(); $("m-id").value = ""; $("m-version").value = ""; setKind($("m-kind").value);
    $("ms-form-title").textContent = "新增地图源";
  }
  function body() {
    const kind = $("m-kind").value;
    const b = { name: $("m-name").value.trim(), kind, attribution: $("m-attribution").value.trim(),
      min_zoom: parseInt($("m-min").value || "0", 10), max_zoom: parseInt($("m-max").value || "18", 10),
      sort: parseInt($("m-sort").value || "0", 10), crs_note: $("m-crs-note").value.trim(),
      enabled: $("m-enabled").checked, is_default: $("m-default").checked };
    if (kind === "xyz" || kind === "wms") { b.url = $("m-url").value.trim(); }
    if (kind === "wms") { b.wms_layers = $("m-wms-layers").value.trim(); b.wms_format = $("m-wms-format").value; }
    if (kind === "tianditu") { b.tdt_layer = $("m-tdt-layer").value; b.tdt_key = $("m-tdt-key").value.trim(); b.tdt_annotation = $("m-tdt-annotation").checked; }
    return b;
  }

  if (canEdit) {
    $("m-kind").addEventListener("change", () => setKind($("m-kind").value));
    $("ms-new").addEventListener("click", reset);
    $("ms-form").addEventListener("submit", async ev => {
      ev.preventDefault();
      const id = $("m-id").value;
      try {
        const saved = id ? await call("PATCH", API + "/" + id, Object.assign(body(), { version: parseInt($("m-version").value, 10) }))
                         : await call("POST", API, body());
        msg((id ? "已修改" : "已新增") + "地图源“" + saved.name + "”");
        reset();
        await load();
      } catch (e) { msg(e.message, "danger"); }
    });
    setKind($("m-kind").value);
  }
  load().catch(e => msg(e.message, "danger"));
})();
