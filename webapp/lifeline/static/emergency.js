/* 应急管理页面（R117）：队伍、人员、专家、法律法规、应急预案、物资装备的列表与维护，
   存放地/驻地落图，“最近资源”：点选地图位置，列出最近的队伍、物资和专家单位及距离。 */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const API = "/api/lifeline/emergency";
  const $ = id => document.getElementById(id);
  const app = $("em-app");
  const canEdit = app.dataset.canEdit === "true";
  const KIND_COLORS = { team: "#dc3545", material: "#0d6efd", expert_org: "#6f42c1" };
  const COLUMNS = {
    teams: [["name", "队伍名称"], ["dept_name", "所属部门"], ["specialty_name", "专业"], ["leader", "负责人"], ["phone", "电话"], ["members_count", "人数"], ["base_name", "驻地"]],
    people: [["name", "姓名"], ["team_name", "所属队伍"], ["dept_name", "部门"], ["role", "岗位"], ["phone", "电话"], ["skills", "专业技能"]],
    experts: [["name", "姓名"], ["industry_name", "行业"], ["title", "职称"], ["org", "工作单位"], ["phone", "电话"], ["speciality", "专长"]],
    documents: [["title", "标题"], ["category_name", "分类"], ["doc_no", "文号"], ["issuer", "发布单位"], ["issued_on", "发布日期"], ["file_name", "附件"]],
    materials: [["name", "名称"], ["type_name", "类型"], ["category_name", "类别"], ["quantity", "数量"], ["unit", "单位"], ["storage_name", "存放地点"], ["dept_name", "管理部门"], ["expiry", "有效期至"]],
  };
  const FILTER = { teams: "specialty", people: "team_id", experts: "industry", documents: "category", materials: "category" };
  const state = { res: "teams", kind: null, opts: null, items: [], editing: null, picking: null, nearestMode: false };

  const map = L.map("em-map", { minZoom: 8, maxZoom: 19 }).setView([33.383, 114.021], 14);
  L.tileLayer(app.dataset.basemapUrl, { maxZoom: 19, attribution: "离线底图 © 西平县城市运行管理服务平台" }).addTo(map);
  const resLayer = L.featureGroup().addTo(map);
  const nearLayer = L.featureGroup().addTo(map);
  const modal = canEdit ? new bootstrap.Modal($("em-modal")) : null;

  async function loadMap() {
    const fc = await call("GET", `${API}/map`);
    resLayer.clearLayers();
    fc.features.forEach(f => {
      const p = f.properties, [lon, lat] = f.geometry.coordinates;
      L.circleMarker([lat, lon], { radius: 6, color: "#fff", weight: 2, fillColor: KIND_COLORS[p.kind], fillOpacity: 0.9,
        className: "em-res em-res-" + p.kind })
        .bindPopup(`<b>${esc(p.name)}</b><br>${esc(p.kind_name)} · ${esc(p.place || "")}` +
          (p.amount != null ? `<br>数量：${esc(p.amount)} ${esc(p.unit || "")}` : "") +
          `<br>${esc(p.contact || "")} ${esc(p.phone || "")}`).addTo(resLayer);
    });
  }

  function choicesFor(res) {
    const o = state.opts;
    if (res === "teams") return o.specialties;
    if (res === "experts") return o.industries;
    if (res === "documents") return o.doc_categories[state.kind];
    if (res === "materials") return o.material_categories;
    return Object.fromEntries(o.teams.map(t => [t.id, t.name]));
  }

  function fillFilter() {
    const ch = choicesFor(state.res);
    $("f-filter").innerHTML = `<option value="">全部分类</option>` +
      Object.entries(ch).map(([k, v]) => `<option value="${esc(k)}">${esc(v)}</option>`).join("");
  }

  async function loadList() {
    const q = new URLSearchParams({ size: 500 });
    if (state.kind) q.set("kind", state.kind);
    if ($("f-filter").value) q.set(FILTER[state.res], $("f-filter").value);
    if ($("f-q").value.trim()) q.set("q", $("f-q").value.trim());
    const d = await call("GET", `${API}/${state.res}?${q}`);
    state.items = d.items;
    const cols = COLUMNS[state.res];
    $("em-table").querySelector("thead").innerHTML = `<tr>${cols.map(c => `<th>${c[1]}</th>`).join("")}</tr>`;
    $("em-table").querySelector("tbody").innerHTML = d.items.map(it => `<tr data-id="${it.id}">` + cols.map(([k]) => {
      if (k === "file_name" && it.has_file) return `<td><a href="${API}/documents/${it.id}/file" class="em-file">${esc(it.file_name)}</a></td>`;
      return `<td>${esc(it[k] == null ? "" : it[k])}</td>`;
    }).join("") + `</tr>`).join("") || `<tr><td colspan="${cols.length}" class="text-muted">无记录</td></tr>`;
    $("em-total").textContent = `共 ${d.total} 条`;
  }

  function switchTab(a) {
    document.querySelectorAll("#em-tabs .nav-link").forEach(x => x.classList.toggle("active", x === a));
    state.res = a.dataset.res; state.kind = a.dataset.kind || null;
    fillFilter(); loadList();
  }

  // -- edit form -------------------------------------------------------------------------------
  function fieldInput(f, v) {
    const id = "fld-" + f.key, req = f.required ? " required" : "";
    let choices = f.choices;
    if (f.key === "category" && state.res === "documents") choices = state.opts.doc_categories[state.kind];
    if (f.kind === "dept") choices = Object.fromEntries(state.opts.departments.map(d => [d.code, d.name]));
    if (f.kind === "team") choices = Object.fromEntries(state.opts.teams.map(t => [t.id, t.name]));
    if (f.key === "kind" && state.res === "documents") return "";
    let input;
    if (choices) {
      input = `<select class="form-select form-select-sm" id="${id}"${req}>${f.required ? "" : '<option value=""></option>'}` +
        Object.entries(choices).map(([k, n]) => `<option value="${esc(k)}"${String(v) === k ? " selected" : ""}>${esc(n)}</option>`).join("") + `</select>`;
    } else if (f.kind === "text") {
      input = `<textarea class="form-control form-control-sm" id="${id}" rows="2">${esc(v == null ? "" : v)}</textarea>`;
    } else {
      const type = f.kind === "int" || f.kind === "num" ? "number" : f.kind === "date" ? "date" : "text";
      input = `<input class="form-control form-control-sm" type="${type}" id="${id}" value="${esc(v == null ? "" : v)}"${req}>`;
    }
    return `<div class="col-md-6"><label class="form-label small mb-0" for="${id}">${esc(f.label)}${f.required ? " *" : ""}</label>${input}</div>`;
  }

  function openForm(item) {
    const spec = state.opts.resources[state.res];
    state.editing = item || null;
    $("em-modal-title").textContent = `${item ? "编辑" : "新增"}${state.res === "documents" ? (state.kind === "plan" ? "应急预案" : "法律法规") : spec.label}`;
    let html = spec.fields.map(f => fieldInput(f, item ? item[f.key] : null)).join("");
    if (spec.point) {
      html += `<div class="col-md-6"><label class="form-label small mb-0" for="fld-lon">经度${spec.point === "required" ? " *" : ""}</label>` +
        `<input class="form-control form-control-sm" id="fld-lon" value="${item && item.lon != null ? item.lon.toFixed(6) : ""}"></div>` +
        `<div class="col-md-6"><label class="form-label small mb-0" for="fld-lat">纬度</label>` +
        `<input class="form-control form-control-sm" id="fld-lat" value="${item && item.lat != null ? item.lat.toFixed(6) : ""}"></div>` +
        `<div class="col-12 small text-muted">可关闭窗口前先在右侧地图上点选位置：<button type="button" class="btn btn-link btn-sm p-0" id="btn-pick">在地图上选择</button></div>`;
    }
    if (state.res === "documents") html += `<div class="col-12"><label class="form-label small mb-0" for="fld-file">附件（PDF、Word、TXT 等）</label><input type="file" class="form-control form-control-sm" id="fld-file"></div>`;
    $("em-form").innerHTML = html;
    $("em-form-error").classList.add("d-none");
    $("btn-delete").classList.toggle("d-none", !item);
    const pick = $("btn-pick");
    if (pick) pick.addEventListener("click", () => { state.picking = true; modal.hide(); toast("请在地图上点击位置", "info"); });
    modal.show();
  }

  function formBody() {
    const spec = state.opts.resources[state.res], body = {};
    spec.fields.forEach(f => {
      if (f.key === "kind" && state.res === "documents") { body.kind = state.kind; return; }
      const el = $("fld-" + f.key);
      let v = el.value.trim();
      if (v === "") v = null;
      else if (f.kind === "int" || f.kind === "team") v = Number(v);
      else if (f.kind === "num") v = Number(v);
      body[f.key] = v;
    });
    if (spec.point) { const lon = $("fld-lon").value.trim(), lat = $("fld-lat").value.trim(); body.lon = lon ? Number(lon) : null; body.lat = lat ? Number(lat) : null; }
    if (state.editing) body.version = state.editing.version;
    return body;
  }

  async function save() {
    const body = formBody(), base = `${API}/${state.res}` + (state.editing ? `/${state.editing.id}` : "");
    try {
      const file = state.res === "documents" ? $("fld-file").files[0] : null;
      if (file) {
        const fd = new FormData(); fd.append("data", JSON.stringify(body)); fd.append("file", file);
        await call(state.editing ? "PATCH" : "POST", base, fd, true);
      } else {
        await call(state.editing ? "PATCH" : "POST", base, body);
      }
      modal.hide(); toast("已保存"); loadList(); loadMap();
      state.opts = await call("GET", `${API}/options`);
    } catch (e) {
      $("em-form-error").textContent = e.message; $("em-form-error").classList.remove("d-none");
    }
  }

  async function remove() {
    if (!state.editing || !confirm("确定删除该记录？")) return;
    try {
      await call("DELETE", `${API}/${state.res}/${state.editing.id}`);
      modal.hide(); toast("已删除"); loadList(); loadMap();
    } catch (e) { $("em-form-error").textContent = e.message; $("em-form-error").classList.remove("d-none"); }
  }

  // -- nearest resources -------------------------------------------------------------------------
  async function nearest(lat, lon) {
    nearLayer.clearLayers();
    L.circleMarker([lat, lon], { radius: 7, color: "#dc3545", weight: 3, fillColor: "#fff", fillOpacity: 1, className: "em-event" }).addTo(nearLayer);
    try {
      const d = await call("GET", `${API}/nearest?lon=${lon.toFixed(7)}&lat=${lat.toFixed(7)}&kind=team,material,expert_org&limit=5`);
      const order = ["team", "material", "expert_org"].filter(k => d.results[k]);
      $("near-panel").innerHTML = order.map(k => [k, d.results[k]]).map(([k, rows]) =>
        `<div class="card mb-2 em-near" data-kind="${k}"><div class="card-header py-1 small fw-bold">最近的${esc(d.labels[k])}</div>` +
        `<table class="table table-sm mb-0"><tbody>` + rows.map((r, i) =>
          `<tr><td>${i + 1}</td><td>${esc(r.name)}</td><td>${esc(r.place || "")}</td>` +
          `<td class="text-end em-dist">${r.distance_m.toLocaleString("zh-CN")} 米</td><td>${esc(r.phone || "")}</td></tr>`).join("") +
        `</tbody></table></div>`).join("");
      Object.entries(d.results).forEach(([k, rows]) => rows.forEach(r =>
        L.polyline([[lat, lon], [r.lat, r.lon]], { color: KIND_COLORS[k], weight: 1.5, dashArray: "4 4", className: "em-near-line" }).addTo(nearLayer)));
      map.fitBounds(nearLayer.getBounds().pad(0.1));
    } catch (e) {
      $("near-panel").innerHTML = `<div class="alert alert-danger py-1 small" id="near-error">${esc(e.message)}</div>`;
    }
  }

  map.on("click", e => {
    if (state.picking) {
      state.picking = false;
      $("fld-lon").value = e.latlng.lng.toFixed(6); $("fld-lat").value = e.latlng.lat.toFixed(6);
      modal.show(); return;
    }
    if (state.nearestMode) nearest(e.latlng.lat, e.latlng.lng);
  });
  $("btn-nearest").addEventListener("click", () => {
    state.nearestMode = !state.nearestMode;
    $("btn-nearest").classList.toggle("active", state.nearestMode);
    $("em-map").classList.toggle("em-pick", state.nearestMode);
    $("near-hint").textContent = state.nearestMode ? "请在地图上点击事发位置" : "点击“最近资源”后在地图上点选事发位置";
  });
  document.querySelectorAll("#em-tabs .nav-link").forEach(a => a.addEventListener("click", ev => { ev.preventDefault(); switchTab(a); }));
  $("f-filter").addEventListener("change", loadList);
  $("f-q").addEventListener("input", () => { clearTimeout(state.t); state.t = setTimeout(loadList, 300); });
  if (canEdit) {
    $("btn-new").addEventListener("click", () => openForm(null));
    $("em-table").addEventListener("click", ev => {
      const tr = ev.target.closest("tr[data-id]");
      if (tr && !ev.target.closest("a")) openForm(state.items.find(i => String(i.id) === tr.dataset.id));
    });
    $("btn-save").addEventListener("click", save);
    $("btn-delete").addEventListener("click", remove);
  }
  (async () => {
    state.opts = await call("GET", `${API}/options`);
    fillFilter(); await loadList(); await loadMap();
    app.dataset.ready = "1";
  })();
  window.EmPage = { state, map, nearest };
})();
