/* 指挥中心工作台：the caller's work list (GET /api/cases/tasks, one request per
   stage of this desk), due colouring with working time left (GET
   /api/cases/desk-extras), one-click actions (POST /api/cases/<id>/tasks/<task>),
   dispatch candidates from the smart-dispatch rules, a map of the listed cases
   and a refresh every 30 s. */
(function () {
  "use strict";
  const K = window.AdminKit;
  const $ = id => document.getElementById(id);
  const app = $("desk-app");
  const refs = JSON.parse($("desk-refs").textContent);
  const stageName = Object.fromEntries(refs.stages);
  const deptName = Object.fromEntries(refs.depts);
  const state = { stage: "", items: [], extras: {}, counts: {}, candidates: {}, loading: false };
  const reasonModal = new bootstrap.Modal($("reason-modal"));
  const DUE = { normal: ["bg-success", "正常"], warning: ["bg-warning text-dark", "即将到期"], overdue: ["bg-danger", "已超期"] };
  const COLOUR = { normal: "#198754", warning: "#ffc107", overdue: "#dc3545" };
  let pendingAction = null;
  // Actions are [code, label] pairs in the workflow's order (the main decision first).
  const labelOf = (stage, action) => ((refs.actions[stage] || []).find(a => a[0] === action) || [action, action])[1];

  // -- map
  const mapEl = $("desk-map");
  const map = L.map(mapEl, { zoomControl: true, minZoom: 8, maxZoom: 20 }).setView([33.38, 114.01], 12);
  map.attributionControl.setPrefix("Leaflet");
  L.tileLayer(mapEl.dataset.basemapUrl, { maxZoom: 20, attribution: "离线底图 © 西平县城市运行管理服务平台" }).addTo(map);
  const markers = L.featureGroup().addTo(map);
  const markerOf = {};
  let fitted = false;

  function fmtTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    const p = n => String(n).padStart(2, "0");
    return `${d.getMonth() + 1}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  function leftText(x) {
    if (!x || x.left_hours == null) return "";
    const unit = x.natural ? "小时" : "工作小时";
    const h = Math.abs(x.left_hours);
    const v = h >= 10 ? h.toFixed(0) : h.toFixed(1);
    return x.left_hours >= 0 ? `剩余 ${v} ${unit}` : `超期 ${v} ${unit}`;
  }

  async function load() {
    if (state.loading) return;
    state.loading = true;
    try {
      const due = $("f-due").value;
      const stages = state.stage ? [state.stage] : refs.stages.map(s => s[0]);
      const pages = await Promise.all(stages.map(s => {
        const p = new URLSearchParams({ stage: s, size: "200" });
        if (due) p.set("due", due);
        return K.call("GET", "/api/cases/tasks?" + p);
      }));
      state.items = pages.flatMap(p => p.items);
      state.counts = pages.length ? pages[0].counts : {};
      const ids = state.items.map(t => t.id);
      state.extras = {};
      for (let i = 0; i < ids.length; i += 200) {
        const ex = await K.call("GET", "/api/cases/desk-extras?tasks=" + ids.slice(i, i + 200).join(","));
        Object.assign(state.extras, ex.items);
      }
      render();
      $("refreshed").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false });
      app.dataset.loaded = String(Number(app.dataset.loaded || 0) + 1);
    } catch (e) {
      K.toast(e.message, "danger");
    } finally {
      state.loading = false;
    }
  }

  function sorted() {
    const dir = $("f-sort").value === "desc" ? -1 : 1;
    return state.items.slice().sort((a, b) => {
      const x = a.deadline ? Date.parse(a.deadline) : Infinity, y = b.deadline ? Date.parse(b.deadline) : Infinity;
      return x === y ? a.id - b.id : (x < y ? -dir : dir);
    });
  }

  function actionButtons(t) {
    const out = [];
    for (const [code, label] of (refs.actions[t.stage] || [])) {
      if (code === "dispatch") {
        const cands = state.candidates[t.case.id];
        if (cands === undefined) {
          out.push(`<span class="text-muted small cand-loading" data-case="${t.case.id}">候选部门加载中…</span>`);
        } else {
          for (const c of cands.candidates) {
            out.push(`<button type="button" class="btn btn-primary act-btn" data-task="${t.id}" data-action="dispatch" data-dept="${K.esc(c.dept_code)}" title="${K.esc(c.reason)}">派遣至${K.esc(c.dept_name)}</button>`);
          }
          if (!cands.candidates.length) out.push(`<div class="cand-reason">${K.esc(cands.explanation)}</div>`);
        }
        out.push(`<button type="button" class="btn btn-outline-primary act-btn" data-task="${t.id}" data-action="dispatch" data-choose="1">其他部门…</button>`);
        continue;
      }
      const needs = refs.reason_actions.includes(code);
      const cls = ["cancel", "reject", "fail", "return"].includes(code) ? "btn-outline-danger" : (needs ? "btn-outline-secondary" : "btn-primary");
      out.push(`<button type="button" class="btn ${cls} act-btn" data-task="${t.id}" data-action="${code}"${needs ? ' data-reason="1"' : ""}>${K.esc(label)}${needs ? "…" : ""}</button>`);
    }
    return out.join("");
  }

  function render() {
    const body = $("desk-body");
    const items = sorted();
    // Counts per stage (from the work list API) and due totals (of what is listed).
    let all = 0;
    document.querySelectorAll("[data-count]").forEach(el => {
      const s = el.dataset.count;
      if (s) { el.textContent = state.counts[s] || 0; all += state.counts[s] || 0; }
    });
    document.querySelector('[data-count=""]').textContent = all;
    const n = { warning: 0, overdue: 0 };
    items.forEach(t => { const d = (state.extras[t.id] || {}).due || t.due; if (n[d] !== undefined) n[d] += 1; });
    $("n-warning").textContent = n.warning;
    $("n-overdue").textContent = n.overdue;
    $("desk-total").textContent = `共 ${items.length} 项待办`;
    if (!items.length) {
      body.innerHTML = '<tr><td colspan="7" class="text-center text-muted py-4" id="desk-empty">暂无待办</td></tr>';
    } else {
      body.innerHTML = items.map(t => {
        const x = state.extras[t.id] || {};
        const due = x.due || t.due || "normal";
        const c = t.case;
        const flags = [];
        if (c.urgent) flags.push('<span class="badge bg-danger">紧急</span>');
        if (c.difficult) flags.push('<span class="badge bg-dark">疑难</span>');
        if (c.duplicate_of) flags.push(`<a class="badge bg-warning text-dark text-decoration-none dup-link" href="/cases/${c.duplicate_of}" title="疑似重复上报，点击查看原案卷">疑似重复：${K.esc(x.duplicate_case_no || ("#" + c.duplicate_of))}</a>`);
        return `<tr class="due-${due}" data-task-id="${t.id}" data-case-id="${c.id}" data-stage="${t.stage}">
          <td><a href="/cases/${c.id}" class="case-link">${K.esc(c.case_no)}</a></td>
          <td class="stage">${K.esc(stageName[t.stage] || t.name)}</td>
          <td>${K.esc(c.class_name || "")}<div class="text-muted small">${c.kind === "component" ? "部件" : "事件"}</div></td>
          <td class="desc">${K.esc(c.description)}<div class="text-muted small">${K.esc(c.address || "")}</div></td>
          <td>${flags.join(" ")}</td>
          <td><span class="badge ${DUE[due][0]} due-badge">${DUE[due][1]}</span><div class="left">${K.esc(leftText(x))}</div><div class="text-muted small">${fmtTime(t.deadline)}</div></td>
          <td class="acts">${actionButtons(t)}</td></tr>`;
      }).join("");
    }
    drawMap(items);
    loadCandidates(items);
  }

  function drawMap(items) {
    markers.clearLayers();
    for (const k in markerOf) delete markerOf[k];
    items.forEach(t => {
      const x = state.extras[t.id];
      if (!x || x.lon == null) return;
      const due = x.due || "normal";
      const m = L.circleMarker([x.lat, x.lon], { radius: 8, color: "#333", weight: 1, fillColor: COLOUR[due], fillOpacity: 0.9 })
        .bindTooltip(`${t.case.case_no} ${stageName[t.stage] || ""}<br>${K.esc(t.case.class_name || "")}`);
      m.on("click", () => selectRow(t.id, false));
      m.addTo(markers);
      markerOf[t.id] = m;
    });
    mapEl.dataset.markers = String(markers.getLayers().length);
    if (!fitted && markers.getLayers().length) {
      map.fitBounds(markers.getBounds().pad(0.2), { maxZoom: 16 });
      fitted = true;
    }
  }

  function selectRow(taskId, pan) {
    document.querySelectorAll("#desk-body tr.row-selected").forEach(r => r.classList.remove("row-selected"));
    const row = document.querySelector(`#desk-body tr[data-task-id="${taskId}"]`);
    if (row) { row.classList.add("row-selected"); if (!pan) row.scrollIntoView({ block: "center" }); }
    const m = markerOf[taskId];
    if (m && pan) { map.panTo(m.getLatLng()); m.openTooltip(); }
  }

  async function loadCandidates(items) {
    if (!refs.actions.dispatch || !refs.can_dispatch) return;
    const todo = items.filter(t => t.stage === "dispatch" && state.candidates[t.case.id] === undefined);
    for (const t of todo) {
      try {
        state.candidates[t.case.id] = await K.call("GET", `/api/cases/${t.case.id}/dispatch-candidates`);
      } catch (e) {
        state.candidates[t.case.id] = { candidates: [], explanation: e.message };
      }
      const cell = document.querySelector(`#desk-body tr[data-task-id="${t.id}"] td.acts`);
      if (cell) cell.innerHTML = actionButtons(t);
    }
  }

  async function act(task, action, comment, data) {
    const body = { action, version: task.case.version };
    if (comment) body.comment = comment;
    if (data) body.data = data;
    await K.call("POST", `/api/cases/${task.case.id}/tasks/${task.id}`, body);
    const label = labelOf(task.stage, action);
    K.toast(`${task.case.case_no}：${label} 已办理`);
    delete state.candidates[task.case.id];
    await load();
  }

  $("desk-body").addEventListener("click", async ev => {
    const btn = ev.target.closest("button.act-btn");
    if (!btn) {
      const row = ev.target.closest("tr[data-task-id]");
      if (row && !ev.target.closest("a")) selectRow(Number(row.dataset.taskId), true);
      return;
    }
    const task = state.items.find(t => t.id === Number(btn.dataset.task));
    if (!task) return;
    const action = btn.dataset.action;
    if (btn.dataset.reason || btn.dataset.choose) {
      pendingAction = { task, action };
      const label = labelOf(task.stage, action);
      $("reason-title").textContent = label;
      $("reason-case").textContent = `${task.case.case_no} ${task.case.class_name || ""}`;
      $("reason-text").value = "";
      $("reason-text").required = !btn.dataset.choose;
      $("reason-text").closest(".modal-body").querySelector("label[for=reason-text]").textContent = btn.dataset.choose ? "派遣意见（可选）" : "原因 / 意见（必填）";
      $("hours-row").classList.toggle("d-none", action !== "extend");
      $("dept-row").classList.toggle("d-none", !btn.dataset.choose);
      $("reason-error").textContent = "";
      reasonModal.show();
      return;
    }
    btn.disabled = true;
    try {
      await act(task, action, null, action === "dispatch" ? { dept_code: btn.dataset.dept } : null);
    } catch (e) {
      K.toast(e.message, "danger");
      btn.disabled = false;
      if (e.status === 409) load();
    }
  });

  $("reason-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    if (!pendingAction) return;
    const { task, action } = pendingAction;
    const comment = $("reason-text").value.trim();
    let data = null;
    if (action === "extend") data = { hours: Number($("reason-hours").value) };
    if (action === "dispatch") data = { dept_code: $("reason-dept").value };
    $("reason-submit").disabled = true;
    try {
      await act(task, action, comment || null, data);
      reasonModal.hide();
      pendingAction = null;
    } catch (e) {
      $("reason-error").textContent = e.message;
    } finally {
      $("reason-submit").disabled = false;
    }
  });

  document.querySelectorAll(".stage-tab").forEach(a => a.addEventListener("click", ev => {
    ev.preventDefault();
    document.querySelectorAll(".stage-tab").forEach(x => x.classList.remove("active"));
    a.classList.add("active");
    state.stage = a.dataset.stage;
    load();
  }));
  $("f-due").addEventListener("change", load);
  $("f-sort").addEventListener("change", render);
  $("btn-refresh").addEventListener("click", load);
  // Auto-refresh every 30 s, but not under an open dialog.
  setInterval(() => { if (!document.querySelector(".modal.show")) load(); }, 30000);
  load();
})();
