/* 隐患详情（R115）：信息、当前环节办理（派遣/处置/反馈/核查）、整改方案、挂牌督办/摘牌、
   处置过程记录与流程图。Writes go to /api/lifeline/hazards/<id>/… with the row version (409 → reload). */
(function () {
  "use strict";
  const { call, esc, toast } = window.AdminKit;
  const $ = id => document.getElementById(id);
  const app = $("hd-app");
  const id = app.dataset.id;
  const API = `/api/lifeline/hazards/${id}`;
  const DEPTS = Array.from(new Map(JSON.parse(document.getElementById("hd-depts").textContent)));
  let h = null, marker = null;
  const mapEl = $("hd-map");
  const map = L.map(mapEl, { minZoom: 8, maxZoom: 19 }).setView([33.383, 114.021], 15);
  L.tileLayer(mapEl.dataset.basemapUrl, { maxZoom: 19, attribution: "离线底图 © 西平县城市运行管理服务平台" }).addTo(map);

  const fmt = s => s ? new Date(s).toLocaleString("zh-CN", { hour12: false }).slice(0, 16) : "—";
  const photoUrl = p => `/api/lifeline/risk/photos/${p}`;
  const photos = list => (list || []).map(p => `<a href="${photoUrl(p)}" target="_blank"><img class="hz-photo" src="${photoUrl(p)}" alt="现场照片"></a>`).join("");
  const dl = rows => rows.map(([k, v]) => `<dt class="col-4 col-md-3 text-muted">${esc(k)}</dt><dd class="col-8 col-md-9 mb-1">${v == null || v === "" ? "—" : v}</dd>`).join("");
  function alertBox(msg) { const a = $("hd-alert"); a.textContent = msg || ""; a.classList.toggle("d-none", !msg); }

  async function send(method, url, body, files) {
    try {
      if (files && files.length) {
        const fd = new FormData();
        fd.append("data", JSON.stringify(body));
        Array.from(files).forEach(f => fd.append("photo", f));
        h = await call(method, url, fd, true);
      } else {
        h = await call(method, url, body);
      }
      alertBox(""); toast("已保存"); render();
    } catch (err) {
      alertBox(err.message + (err.status === 409 ? "（已为您刷新最新状态）" : ""));
      if (err.status === 409) await load();
    }
  }

  function renderTasks() {
    const box = $("hd-tasks");
    if (!h.tasks.length) { box.innerHTML = `<div class="text-muted small">流程已结束（${esc(h.status_name)}）。</div>`; return; }
    box.innerHTML = h.tasks.map(t => {
      if (!t.mine) return `<div class="small mb-1">当前环节：<b>${esc(t.name)}</b>（等待${t.role === "dept_handler" ? "责任单位" : "监测中心"}办理）</div>`;
      const opts = t.decisions.map(d => `<option value="${esc(d.code)}">${esc(d.name)}</option>`).join("");
      const extra = t.stage === "dispatch" ?
        `<div class="col-md-4"><label class="form-label small mb-0">责任单位</label><select class="form-select form-select-sm" name="dept_code">` +
        DEPTS.map(([c, n]) => `<option value="${esc(c)}"${c === h.dept_code ? " selected" : ""}>${esc(n)}</option>`).join("") + `</select></div>` +
        `<div class="col-md-3"><label class="form-label small mb-0">整改期限</label><input type="date" class="form-control form-control-sm" name="deadline" value="${esc(h.plan.deadline || "")}"></div>` : "";
      const photo = ["handle", "feedback", "check"].includes(t.stage) ?
        `<div class="col-md-5"><label class="form-label small mb-0">现场照片${t.stage === "feedback" ? "（必传）" : ""}</label><input type="file" accept="image/*" multiple class="form-control form-control-sm" name="photo"></div>` : "";
      return `<form class="hd-task border rounded p-2 mb-2" data-stage="${esc(t.stage)}"><div class="fw-semibold mb-1">${esc(t.name)}</div>` +
        `<div class="row g-1"><div class="col-md-4"><label class="form-label small mb-0">办理结果</label><select class="form-select form-select-sm" name="decision">${opts}</select></div>` +
        extra + photo + `<div class="col-12"><label class="form-label small mb-0">办理意见</label><input class="form-control form-control-sm" name="comment"></div></div>` +
        `<button class="btn btn-sm btn-primary mt-2" type="submit">提交${esc(t.name)}</button></form>`;
    }).join("");
    box.querySelectorAll("form.hd-task").forEach(f => f.addEventListener("submit", e => {
      e.preventDefault();
      const body = { task: f.dataset.stage, decision: f.decision.value, comment: f.comment.value, version: h.version };
      if (f.dept_code) { body.dept_code = f.dept_code.value; if (f.deadline.value) body.deadline = f.deadline.value; }
      send("POST", `${API}/act`, body, f.photo ? f.photo.files : null);
    }));
  }

  function render() {
    app.dataset.version = h.version; app.dataset.status = h.status; app.dataset.stage = h.stage || "";
    $("hd-title").textContent = `隐患 ${h.code} ${h.title}`;
    $("hd-status").textContent = h.status_name;
    $("hd-status").className = "badge " + ({ rectified: "bg-success", cancelled: "bg-secondary", checking: "bg-info", rectifying: "bg-warning text-dark" }[h.status] || "bg-primary");
    $("hd-sup").classList.toggle("d-none", !h.supervised);
    $("hd-overdue").classList.toggle("d-none", !h.overdue);
    $("hd-info").innerHTML = dl([["来源", esc(h.source_name) + (h.record_id ? `（巡查记录 ${h.record_id}）` : "") + (h.alarm_id ? `（告警 ${h.alarm_id}）` : "")],
      ["类别 / 类型", esc([h.category_name, h.hazard_type_name].filter(Boolean).join(" / "))], ["等级", `<span style="color:${esc(h.colour)}">●</span> ${esc(h.level_name)}`],
      ["责任单位", esc(h.dept_name)], ["风险点", esc(h.risk_code)], ["地点", esc(h.address)], ["发现时间", fmt(h.found_at)],
      ["上报人", esc(h.reported_by_name)], ["描述", esc(h.description)], ["整改期限", esc(h.due) + (h.overdue ? ' <span class="hz-overdue">（逾期）</span>' : "")]]);
    $("hd-photos").innerHTML = photos(h.photos);
    $("hd-plan").innerHTML = dl([["整改措施", esc(h.plan.measures)], ["整改资金", h.plan.funds == null ? "" : esc(h.plan.funds) + " 万元"],
      ["整改责任人", esc([h.plan.person, h.plan.phone].filter(Boolean).join(" "))], ["整改期限", esc(h.plan.deadline)]]);
    $("btn-plan-edit").classList.toggle("d-none", !h.can.plan);
    const s = h.supervise;
    $("hd-supinfo").innerHTML = h.supervised ? dl([["督办级别", esc(s.level_name)], ["督办人", esc(s.by) + " " + fmt(s.at)], ["督办期限", esc(s.deadline)], ["督办说明", esc(s.note)]])
      : (s.lifted_at ? dl([["状态", "已摘牌"], ["摘牌", esc(s.lifted_by) + " " + fmt(s.lifted_at)]]) : '<div class="small text-muted">未挂牌督办</div>');
    $("btn-sup").classList.toggle("d-none", !(h.can.supervise && !h.supervised));
    $("btn-unsup").classList.toggle("d-none", !(h.can.supervise && h.supervised));
    $("hd-history").innerHTML = h.history.map(e => `<li class="${e.action === "check_pass" ? "hz-ok" : (["check_fail", "cancel", "supervise"].includes(e.action) ? "hz-bad" : "")}">` +
      `<div class="small"><b>${esc(e.action_name)}</b> · ${esc(e.actor_name)} · ${fmt(e.at)}</div>` +
      (e.comment ? `<div class="small">${esc(e.comment)}</div>` : "") + photos(e.photos) + `</li>`).join("");
    $("hd-proc").textContent = `（${h.process.key} 第 ${h.process.version} 版）`;
    renderTasks();
    if (marker) marker.remove();
    marker = L.circleMarker([h.lat, h.lon], { radius: 9, color: "#fff", weight: 2, fillColor: h.colour, fillOpacity: .95 }).addTo(map).bindTooltip(h.title);
    map.setView([h.lat, h.lon], 16);
    if (window.CaseDiagram && typeof window.CaseDiagram.show === "function") {
      window.CaseDiagram.show($("hd-diagram"), `${API}/process.bpmn`, { current: h.stage ? [h.stage] : [], done: h.done_stages })
        .catch(() => {});
    }
    app.dataset.ready = "1";
  }

  async function load() { h = await call("GET", API); render(); }

  $("btn-plan-edit").addEventListener("click", () => {
    const f = $("plan-form"); f.classList.toggle("d-none");
    $("p-measures").value = h.plan.measures || ""; $("p-funds").value = h.plan.funds == null ? "" : h.plan.funds;
    $("p-person").value = h.plan.person || ""; $("p-phone").value = h.plan.phone || ""; $("p-deadline").value = h.plan.deadline || "";
  });
  $("plan-form").addEventListener("submit", e => {
    e.preventDefault();
    send("PUT", `${API}/plan`, { measures: $("p-measures").value, funds: $("p-funds").value === "" ? null : Number($("p-funds").value),
      person: $("p-person").value, phone: $("p-phone").value || null, deadline: $("p-deadline").value, version: h.version });
    $("plan-form").classList.add("d-none");
  });
  let supOn = true;
  $("btn-sup").addEventListener("click", () => { supOn = true; $("sup-form").classList.remove("d-none"); $("s-level").parentElement.parentElement.classList.remove("d-none"); $("s-submit").textContent = "确认挂牌督办"; });
  $("btn-unsup").addEventListener("click", () => { supOn = false; $("sup-form").classList.remove("d-none"); $("s-level").parentElement.parentElement.classList.add("d-none"); $("s-submit").textContent = "确认摘牌"; });
  $("sup-form").addEventListener("submit", e => {
    e.preventDefault();
    const body = supOn ? { level: $("s-level").value, deadline: $("s-deadline").value, note: $("s-note").value, version: h.version }
      : { note: $("s-note").value, version: h.version };
    send("POST", `${API}/${supOn ? "supervise" : "unsupervise"}`, body);
    $("sup-form").classList.add("d-none");
  });
  load().catch(err => alertBox(err.message));
})();
