/* 疑难案件 list: quick search (the case search, Chinese keywords or case
   number), filters, manual mark / unmark, the automatic sweep, and 确权
   rounds (open, view the answers, decide → the case is dispatched). */
(function () {
  "use strict";
  const { esc, call, toast, time } = window.Difficult;
  const API = "/api/cases/difficult";
  const $ = id => document.getElementById(id);
  const supervise = $("difficult-app").dataset.supervise === "1";
  const state = { page: 1, size: 20, items: [], current: null };
  const markModal = supervise ? new bootstrap.Modal($("mark-modal")) : null;
  const roundModal = new bootstrap.Modal($("round-modal"));
  const statusClass = { pending: "warning", confirmed: "info", resolved: "success" };

  async function load() {
    const p = new URLSearchParams({ page: state.page, size: state.size });
    const q = $("f-q").value.trim();
    if (q) p.set("q", q);
    ["type", "status", "source"].forEach(k => { if ($("f-" + k).value) p.set(k, $("f-" + k).value); });
    const t0 = performance.now();
    try {
      const data = await call("GET", `${API}?${p}`);
      state.items = data.items;
      render(data, Math.round(performance.now() - t0));
    } catch (e) { toast(e.message, "danger"); }
  }

  function render(data, ms) {
    const body = $("difficult-body");
    if (!data.items.length) {
      body.innerHTML = '<tr><td colspan="9" class="text-center text-muted py-3">没有符合条件的疑难案件</td></tr>';
    } else {
      body.innerHTML = data.items.map((it, i) => {
        const c = it.case, m = it.mark, r = m.round;
        const round = r ? `<button class="btn btn-link btn-sm p-0" data-op="round" data-i="${i}">${esc(r.status_name)}` +
          `（${r.answers.filter(a => a.answer).length}/${r.answers.length}）</button>` : '<span class="text-muted">—</span>';
        return `<tr data-mark="${m.id}">
          <td><a href="/cases/${c.id}" class="case-link">${esc(c.case_no)}</a></td>
          <td>${esc(m.type_name)}<div class="reason">${esc(m.source_name)}</div></td>
          <td>${c.description_html || esc(c.description)}<div class="reason">${esc(m.reason)}</div></td>
          <td class="small">${esc(c.address || "")}</td>
          <td>${esc(c.stage_name || (c.status === "closed" ? "已结案" : ""))}</td>
          <td>${esc(m.responsible_dept_name || c.dept_name || "")}</td>
          <td><span class="badge text-bg-${statusClass[m.status] || "secondary"}">${esc(m.status_name)}</span></td>
          <td>${round}</td>
          <td class="text-end">${supervise ? `<div class="btn-group btn-group-sm">
            ${(!r || r.status !== "open") && m.status !== "resolved" ? `<button class="btn btn-outline-primary py-0" data-op="open-round" data-i="${i}">发起确权</button>` : ""}
            <button class="btn btn-outline-danger py-0" data-op="unmark" data-i="${i}">撤销标记</button></div>` : ""}</td></tr>`;
      }).join("");
    }
    $("list-info").textContent = `共 ${data.total} 件疑难案件` + (ms != null ? `，查询用时 ${ms} 毫秒` : "");
    const pages = Math.max(1, Math.ceil(data.total / state.size));
    let html = "";
    for (let p = Math.max(1, state.page - 3); p <= Math.min(pages, state.page + 3); p++) {
      html += `<li class="page-item ${p === state.page ? "active" : ""}"><a class="page-link" href="#" data-page="${p}">${p}</a></li>`;
    }
    $("pager").innerHTML = html;
  }

  $("filter").addEventListener("submit", e => { e.preventDefault(); state.page = 1; load(); });
  $("pager").addEventListener("click", e => {
    const a = e.target.closest("[data-page]");
    if (a) { e.preventDefault(); state.page = +a.dataset.page; load(); }
  });

  $("difficult-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-op]");
    if (!b) return;
    const it = state.items[+b.dataset.i];
    state.current = it;
    if (b.dataset.op === "unmark") {
      const why = window.prompt(`撤销案卷 ${it.case.case_no} 的疑难标记，请填写原因：`);
      if (why === null) return;
      try {
        await call("POST", `${API}/marks/${it.mark.id}/unmark`, { comment: why, version: it.mark.version });
        toast("已撤销疑难标记"); load();
      } catch (err) { toast(err.message, "danger"); }
    } else if (b.dataset.op === "open-round") {
      openRound(it);
    } else if (b.dataset.op === "round") {
      viewRound(it);
    }
  });

  function showError(id, msg) { const el = $(id); el.textContent = msg || ""; el.classList.toggle("d-none", !msg); }

  function openRound(it) {
    $("round-title").textContent = `发起确权：${it.case.case_no}`;
    $("round-new").classList.remove("d-none"); $("round-view").classList.add("d-none");
    $("round-save").textContent = "发起确权"; $("round-save").dataset.mode = "open";
    $("round-save").classList.remove("d-none");
    const d = new Date(Date.now() + 2 * 86400000);
    const p = n => String(n).padStart(2, "0");
    $("r-deadline").value = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T17:00`;
    Array.from($("r-depts").options).forEach(o => { o.selected = false; });
    $("r-comment").value = "";
    showError("round-error");
    roundModal.show();
  }

  function viewRound(it) {
    const r = it.mark.round;
    $("round-title").textContent = `确权情况：${it.case.case_no}`;
    $("round-new").classList.add("d-none"); $("round-view").classList.remove("d-none");
    $("round-info").innerHTML = `发起人 ${esc(r.opened_by_name)}，${time(r.opened_at)}；答复期限 ${time(r.deadline)}` +
      (r.overdue ? ' <span class="badge text-bg-danger">已过期</span>' : "") +
      (r.comment ? `<br>说明：${esc(r.comment)}` : "") +
      (r.decided_dept_name ? `<br><strong>已确定责任单位：${esc(r.decided_dept_name)}</strong>（${esc(r.decided_by_name)}，${time(r.decided_at)}）` : "");
    $("round-answers").innerHTML = r.answers.map(a => `<tr><td>${esc(a.dept_name)}</td>
      <td>${a.answer === "yes" ? '<span class="badge text-bg-success">属于本单位</span>' : a.answer === "no" ? '<span class="badge text-bg-secondary">不属于本单位</span>' : '<span class="text-muted">未答复</span>'}</td>
      <td>${esc(a.reason || "")}</td><td class="small">${esc(a.answered_by_name || "")} ${time(a.answered_at)}</td></tr>`).join("");
    const yes = r.answers.find(a => a.answer === "yes");
    if (yes) $("d-dept").value = yes.dept_code;
    const canDecide = supervise && r.status === "open";
    $("round-decide").classList.toggle("d-none", !canDecide);
    $("round-save").classList.toggle("d-none", !canDecide);
    $("round-save").textContent = "确定责任单位并派遣"; $("round-save").dataset.mode = "decide";
    showError("round-error");
    roundModal.show();
  }

  $("round-form").addEventListener("submit", async e => {
    e.preventDefault();
    const it = state.current;
    try {
      if ($("round-save").dataset.mode === "open") {
        const depts = Array.from($("r-depts").selectedOptions).map(o => o.value);
        const dl = $("r-deadline").value;
        await call("POST", `${API}/marks/${it.mark.id}/rounds`,
          { dept_codes: depts, deadline: dl ? dl + ":00" : null, comment: $("r-comment").value });
        toast(`已向 ${depts.length} 个部门发起确权`);
      } else {
        const r = it.mark.round;
        await call("POST", `${API}/rounds/${r.id}/decide`,
          { dept_code: $("d-dept").value, comment: $("d-comment").value, version: r.version });
        toast("已确定责任单位，案件已派遣");
      }
      roundModal.hide(); load();
    } catch (err) { showError("round-error", err.message); }
  });

  if (supervise) {
    $("btn-mark").addEventListener("click", () => {
      $("m-case").value = ""; $("m-case-id").innerHTML = ""; $("m-reason").value = ""; showError("mark-error");
      markModal.show();
    });
    $("m-find").addEventListener("click", async () => {
      const q = $("m-case").value.trim();
      if (!q) return;
      try {
        const data = await call("GET", `/api/cases?status=open&size=20&q=${encodeURIComponent(q)}`);
        $("m-case-id").innerHTML = data.items.filter(c => !c.difficult).map(c =>
          `<option value="${c.id}">${esc(c.case_no)} ${esc(c.class_name || "")} ${esc(c.description.slice(0, 30))}</option>`).join("");
        if ($("m-case-id").options.length) $("m-case-id").selectedIndex = 0;
        else showError("mark-error", "没有找到可标记的办理中案件");
      } catch (err) { showError("mark-error", err.message); }
    });
    $("mark-form").addEventListener("submit", async e => {
      e.preventDefault();
      const id = parseInt($("m-case-id").value, 10);
      if (!id) { showError("mark-error", "请先查找并选择案件"); return; }
      try {
        await call("POST", `${API}/marks`, { case_id: id, type_code: $("m-type").value, reason: $("m-reason").value });
        markModal.hide(); toast("已标记为疑难案件"); load();
      } catch (err) { showError("mark-error", err.message); }
    });
    $("btn-sweep").addEventListener("click", async () => {
      try {
        const r = await call("POST", `${API}/sweep`);
        toast(`自动认定完成：新标记 ${r.marked} 件，已解决 ${r.resolved} 件`); load();
      } catch (err) { toast(err.message, "danger"); }
    });
  }
  load();
})();
