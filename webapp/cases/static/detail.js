/* 案卷详情: map, media, timeline and the caller's open tasks. Every action
 * goes through POST /api/cases/<id>/tasks/<task_id> with the case version
 * (optimistic locking); on 409 the server's reason is shown and the case is
 * reloaded, so nobody acts on a stale page. */
(function () {
  "use strict";
  const K = window.AdminKit;
  const app = document.getElementById("case-app");
  if (!app) { return; }
  const $ = (id) => document.getElementById(id);
  const caseId = Number(app.dataset.caseId);
  const L10N = JSON.parse($("case-labels").textContent);
  const extra = JSON.parse($("case-extra").textContent);
  let c = JSON.parse($("case-data").textContent);

  const NEEDS_REASON = { cancel: 1, return: 1, extend: 1, suspend: 1, reject: 1, fail: 1 };
  const DUE = { normal: "正常", warning: "即将超时", overdue: "已超时" };
  const STATUS_CLASS = { open: "text-bg-primary", closed: "text-bg-success", cancelled: "text-bg-secondary",
    suspended: "text-bg-warning" };
  const TIME = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  const fmt = (iso) => iso ? TIME.format(new Date(iso)).replace(/\//g, "-") : "";
  const stageName = (s) => (s && (L10N.stages[s] || s)) || "";
  const roleName = (r) => (r && (L10N.roles[r] || r)) || "";

  function actionName(e) {
    if (L10N.events[e.action]) { return L10N.events[e.action]; }
    if (e.stage === "accept" && e.action === "file") { return "受理"; }  // accepted and handed on for filing
    if (L10N.approvals[e.stage] && L10N.approvals[e.stage][e.action]) { return L10N.approvals[e.stage][e.action]; }
    return L10N.short[e.action] || e.action;
  }

  // -- header and facts -----------------------------------------------------
  function openTasks() { return (c.tasks || []).filter((t) => t.status === "open"); }

  function renderHead() {
    const open = openTasks();
    const due = open.map((t) => t.due).includes("overdue") ? "overdue" :
      (open.map((t) => t.due).includes("warning") ? "warning" : (open.length ? "normal" : null));
    const st = $("badge-status");
    st.className = "badge " + (due && c.status === "open" ? "due-" + due : (STATUS_CLASS[c.status] || "text-bg-primary"));
    st.textContent = c.status_name + (c.stage ? " · " + stageName(c.stage) : "") + (due && due !== "normal" ? "（" + DUE[due] + "）" : "");
    const flags = [];
    if (c.urgent) { flags.push('<span class="badge text-bg-danger">紧急</span>'); }
    if (c.difficult) { flags.push('<span class="badge text-bg-dark">疑难</span>'); }
    if (c.duplicate_of) {
      flags.push('<a class="badge text-bg-warning text-decoration-none" href="/cases/' + c.duplicate_of + '">疑似重复：' +
        K.esc(c.duplicate_case_no || c.duplicate_of) + "</a>");
    }
    if (c.urged) { flags.push('<span class="badge text-bg-danger bg-opacity-75">督办 ' + c.urged + " 次</span>"); }
    if (c.returns) { flags.push('<span class="badge text-bg-secondary">回退 ' + c.returns + " 次</span>"); }
    if (c.reworks) { flags.push('<span class="badge text-bg-secondary">返工 ' + c.reworks + " 次</span>"); }
    $("badge-flags").innerHTML = flags.join(" ");
    const urge = $("btn-urge");
    if (urge) { urge.classList.toggle("d-none", !(c.status === "open" || c.status === "suspended")); }

    const rows = [
      ["案件来源", c.source_name], ["上报人", c.reporter_name], ["上报时间", fmt(c.reported_at)],
      ["地址", c.address],
      ["所在区域", [extra.street_name, extra.community_name].filter(Boolean).join(" · ")],
      ["单元网格", c.grid_code], ["责任网格", c.resp_grid_code],
      ["关联部件", c.component_code ? c.component_code + (extra.component ? " " + extra.component.name : "") +
        "（距 " + c.component_distance_m + " 米）" : ""],
      ["处置部门", c.dept_name ? c.dept_name + "（" + c.dept_code + "）" : ""],
      ["处置时限", fmt(c.handle_deadline)], ["结案时间", fmt(c.closed_at)],
      ["流程版本", c.process.key ? c.process.key + " v" + c.process.version : ""]
    ];
    $("info-rows").innerHTML = rows.filter((r) => r[1]).map((r) =>
      "<tr><th>" + r[0] + "</th><td>" + K.esc(r[1]) + "</td></tr>").join("");
  }

  // -- map ------------------------------------------------------------------
  function renderMap() {
    if (!window.L) { return; }
    const ll = L.latLng(c.location.lat, c.location.lon);
    const map = L.map("case-map", { minZoom: 8, maxZoom: 20, scrollWheelZoom: false });
    L.tileLayer(app.dataset.basemapUrl, { maxZoom: 20, maxNativeZoom: 20, attribution: "离线底图" }).addTo(map);
    L.marker(ll, { title: "案卷位置" }).addTo(map).bindTooltip(c.case_no, { permanent: false });
    const legend = ["蓝色图钉：案卷位置"];
    if (extra.component) {
      const cl = L.latLng(extra.component.lat, extra.component.lon);
      L.circleMarker(cl, { radius: 8, color: "#fd7e14", weight: 3, fillOpacity: 0.4 }).addTo(map)
        .bindTooltip("部件 " + extra.component.code + " " + extra.component.name);
      L.polyline([ll, cl], { color: "#fd7e14", dashArray: "4 4", weight: 2 }).addTo(map);
      legend.push("橙色圆圈：就近部件 " + extra.component.code);
      map.fitBounds(L.latLngBounds([ll, cl]).pad(0.6), { maxZoom: 18 });
    } else {
      map.setView(ll, 17);
    }
    $("map-legend").textContent = legend.join("；") + "。坐标 " + c.location.lon.toFixed(6) + ", " + c.location.lat.toFixed(6);
  }

  // -- media ----------------------------------------------------------------
  function renderMedia() {
    const items = c.media || [];
    $("media").innerHTML = items.length ? items.map((m) => {
      if (m.kind === "photo") {
        return '<a href="' + m.url + '" target="_blank" rel="noopener" title="' + K.esc(m.name) + '"><img src="' +
          (m.thumb_url || m.url) + '" alt="' + K.esc(m.name) + '" loading="lazy"></a>';
      }
      if (m.kind === "audio") { return '<audio controls preload="none" src="' + m.url + '" title="' + K.esc(m.name) + '"></audio>'; }
      return '<video controls preload="metadata" src="' + m.url + '" title="' + K.esc(m.name) + '"></video>';
    }).join("") : '<span class="text-muted small">无附件</span>';
  }

  // -- timeline -------------------------------------------------------------
  function renderTimeline() {
    const ev = c.events || [];
    $("timeline").innerHTML = ev.map((e) => {
      const mark = e.on_time === true ? '<span class="badge text-bg-success ms-1">按时</span>' :
        (e.on_time === false ? '<span class="badge text-bg-danger ms-1">超时</span>' : "");
      let detail = "";
      if (e.action === "dispatch" && e.data && e.data.dept_code) {
        detail = " → " + K.esc(extra.dept_names[e.data.dept_code] || e.data.dept_code);
      } else if (e.data && e.data.hours) {
        detail = "（" + e.data.hours + " 小时）";
      }
      // A note (督办 …) happens at a stage; a decision moves the case from one stage to the next.
      let flow = "";
      if (L10N.events[e.action] && e.action !== "report") {
        flow = e.stage ? "于" + stageName(e.stage) + "环节" : "";
      } else if (e.stage || e.to_stage) {
        flow = stageName(e.stage) + " → " + (e.to_stage ? stageName(e.to_stage) : "办结");
      }
      flow = flow ? '<span class="text-muted small ms-1">' + K.esc(flow.replace(/^ → /, "→ ")) + "</span>" : "";
      return '<li data-seq="' + e.seq + '"><span class="dot' + (e.actor ? "" : " sys") + '">' + e.seq + "</span>" +
        '<div><span class="fw-semibold">' + K.esc(actionName(e)) + detail + "</span>" + flow + mark + "</div>" +
        '<div class="small text-muted">' + fmt(e.at) + " · " + K.esc(e.actor || "系统") +
        (e.role ? "（" + K.esc(roleName(e.role)) + "）" : "") +
        (e.deadline ? " · 时限 " + fmt(e.deadline) : "") + "</div>" +
        (e.comment ? '<div class="comment small">' + K.esc(e.comment) + "</div>" : "") + "</li>";
    }).join("");
  }

  // -- tasks ----------------------------------------------------------------
  function renderTasks() {
    const open = openTasks();
    if (!open.length) {
      $("tasks").innerHTML = '<span class="text-muted small">' + (c.status === "closed" ? "案卷已结案，没有待办任务。" :
        (c.status === "cancelled" ? "案卷已作废。" : "没有待办任务。")) + "</span>";
      return;
    }
    $("tasks").innerHTML = open.map((t) => {
      const acts = t.actions || {};
      const buttons = Object.keys(acts).map((a) =>
        '<button type="button" class="btn btn-sm ' + (NEEDS_REASON[a] ? "btn-outline-danger" : "btn-primary") +
        '" data-task="' + t.id + '" data-action="' + a + '">' + K.esc(acts[a]) + "</button>").join(" ");
      const due = t.due ? '<span class="badge due-' + t.due + ' ms-1">' + DUE[t.due] + "</span>" : "";
      return '<div class="task-card card mb-2 due-border-' + (t.due || "normal") + '" data-stage="' + t.stage + '"><div class="card-body py-2">' +
        '<div class="d-flex flex-wrap align-items-center gap-1"><span class="fw-bold">' + K.esc(t.name) + "</span>" +
        '<span class="small text-muted">（' + K.esc(roleName(t.role)) + (t.dept_code ? " · " + K.esc(extra.dept_names[t.dept_code] || t.dept_code) : "") + "）</span>" + due + "</div>" +
        '<div class="small text-muted">开始 ' + fmt(t.opened_at) + (t.deadline ? " · 时限 " + fmt(t.deadline) + (t.natural_time ? "（自然时）" : "") : "") + "</div>" +
        '<div class="mt-2 d-flex flex-wrap gap-1">' + (buttons || '<span class="small text-muted">您不是此环节的办理人</span>') + "</div></div></div>";
    }).join("");
    $("tasks").querySelectorAll("button[data-action]").forEach((b) =>
      b.addEventListener("click", () => openAct(Number(b.dataset.task), b.dataset.action)));
  }

  // -- acting ---------------------------------------------------------------
  const modalEl = $("act-modal");
  const modal = window.bootstrap ? new bootstrap.Modal(modalEl) : null;
  let pending = null;  // {kind: "task", task, action} | {kind: "urge"}

  function resetModal() {
    ["act-comment", "act-dept", "act-hours"].forEach((id) => $(id).classList.remove("is-invalid"));
    $("act-error").classList.add("d-none");
    $("act-comment").value = "";
    $("act-hours").value = "";
  }

  function openAct(taskId, action) {
    const task = openTasks().find((t) => t.id === taskId);
    if (!task) { return; }
    pending = { kind: "task", task: task, action: action };
    resetModal();
    $("act-title").textContent = task.name + "：" + task.actions[action];
    $("act-dept-row").classList.toggle("d-none", action !== "dispatch");
    $("act-hours-row").classList.toggle("d-none", action !== "extend");
    if (action === "dispatch") {
      $("act-dept").innerHTML = '<option value="">请选择处置部门</option>' + extra.departments.map((d) =>
        '<option value="' + K.esc(d.code) + '">' + K.esc(d.name) + "</option>").join("");
    }
    $("act-comment-required").classList.toggle("d-none", !NEEDS_REASON[action]);
    $("act-comment").placeholder = NEEDS_REASON[action] ? "请填写原因" : "可填写办理意见（选填）";
    $("act-submit").textContent = "确定" + task.actions[action];
    modal.show();
  }

  const urgeBtn = $("btn-urge");
  if (urgeBtn) {
    urgeBtn.addEventListener("click", () => {
      pending = { kind: "urge" };
      resetModal();
      $("act-title").textContent = "督办：" + c.case_no;
      $("act-dept-row").classList.add("d-none");
      $("act-hours-row").classList.add("d-none");
      $("act-comment-required").classList.remove("d-none");
      $("act-comment").placeholder = "督办意见，如：请加快处置，今日内反馈";
      $("act-submit").textContent = "确定督办";
      modal.show();
    });
  }

  function invalid(id, msg) {
    $(id).classList.add("is-invalid");
    $(id + "-error").textContent = msg;
  }

  $("act-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!pending) { return; }
    resetErrors();
    const comment = $("act-comment").value.trim();
    let url, body;
    if (pending.kind === "urge") {
      if (!comment) { invalid("act-comment", "请填写督办意见"); return; }
      url = "/api/cases/" + caseId + "/urge";
      body = { comment: comment, version: c.version };
    } else {
      const a = pending.action;
      if (NEEDS_REASON[a] && !comment) { invalid("act-comment", "“" + pending.task.actions[a] + "”须填写原因"); return; }
      body = { action: a, version: c.version };
      if (comment) { body.comment = comment; }
      if (a === "dispatch") {
        if (!$("act-dept").value) { invalid("act-dept", "请选择处置部门"); return; }
        body.data = { dept_code: $("act-dept").value };
      } else if (a === "extend") {
        const h = Number($("act-hours").value);
        if (!(h > 0 && h <= 720)) { invalid("act-hours", "延期时长应为 1 到 720 之间的工作小时数"); return; }
        body.data = { hours: h };
      }
      url = "/api/cases/" + caseId + "/tasks/" + pending.task.id;
    }
    $("act-submit").disabled = true;
    try {
      const label = pending.kind === "urge" ? "督办" : pending.task.actions[pending.action];
      c = await K.call("POST", url, body);
      modal.hide();
      pending = null;
      K.toast("已" + label.replace(/（.*）/, ""), "success");
      $("case-alert").classList.add("d-none");
      renderAll();
    } catch (err) {
      if (err.status === 409) {
        modal.hide();
        showAlert(err.message + "（已重新载入最新案卷）");
        await reload();
      } else {
        $("act-error").textContent = err.message;
        $("act-error").classList.remove("d-none");
      }
    } finally {
      $("act-submit").disabled = false;
    }
  });

  function resetErrors() {
    ["act-comment", "act-dept", "act-hours"].forEach((id) => $(id).classList.remove("is-invalid"));
    $("act-error").classList.add("d-none");
  }

  function showAlert(msg) {
    $("case-alert").textContent = msg;
    $("case-alert").classList.remove("d-none");
    window.scrollTo(0, 0);
  }

  async function reload() {
    try {
      c = await K.call("GET", "/api/cases/" + caseId);
      renderAll();
    } catch (err) {
      showAlert(err.message);
    }
  }

  // -- process diagram (optional component of the workflow pages) -------------
  function renderDiagram() {
    if (!window.CaseDiagram || typeof window.CaseDiagram.show !== "function" || !c.process.key) { return; }
    const done = [], current = [];
    (c.tasks || []).forEach((t) => (t.status === "open" ? current : done).push(t.stage));
    $("diagram-card").classList.remove("d-none");
    try {
      const shown = window.CaseDiagram.show($("case-diagram"), "/cases/" + caseId + "/process.bpmn",
        { current: current, done: done });
      if (shown && typeof shown.catch === "function") { shown.catch(() => $("diagram-card").classList.add("d-none")); }
    } catch (err) {
      $("diagram-card").classList.add("d-none");  // the diagram is a help, never a blocker
    }
  }

  function renderAll() {
    renderHead();
    renderTasks();
    renderTimeline();
    renderMedia();
    renderDiagram();
    app.dataset.version = c.version;
    app.dataset.status = c.status;
    app.dataset.stage = c.stage || "";
  }

  renderAll();
  renderMap();
})();
