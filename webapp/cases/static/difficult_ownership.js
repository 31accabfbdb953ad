/* 确权任务 of the caller's department: answer 属于本单位 / 不属于本单位 + reason. */
(function () {
  "use strict";
  const { esc, call, toast, time } = window.Difficult;
  const $ = id => document.getElementById(id);

  async function load() {
    try {
      const data = await call("GET", "/api/cases/difficult/ownership/mine" + ($("show-all").checked ? "?status=all" : ""));
      render(data.items);
    } catch (e) { toast(e.message, "danger"); }
  }

  function render(items) {
    if (!items.length) { $("ownership-list").innerHTML = '<div class="alert alert-light">暂无待答复的确权任务</div>'; return; }
    $("ownership-list").innerHTML = items.map(it => {
      const open = it.round_status === "open";
      return `<div class="card mb-2" data-round="${it.round_id}" data-dept="${esc(it.dept_code)}"><div class="card-body py-2">
        <div class="d-flex"><div class="me-auto"><a href="/cases/${it.case.id}" class="fw-semibold">${esc(it.case.case_no)}</a>
          <span class="badge text-bg-warning ms-1">${esc(it.type_name)}</span>
          <span class="badge text-bg-${open ? "primary" : "secondary"} ms-1">${esc(it.round_status_name)}</span>
          ${it.overdue ? '<span class="badge text-bg-danger ms-1">已过答复期限</span>' : ""}</div>
          <div class="small text-muted">答复期限 ${time(it.deadline)}｜以 ${esc(it.dept_name)} 名义答复</div></div>
        <div class="mt-1">${esc(it.case.class_name || "")}：${esc(it.case.description)}</div>
        <div class="small text-muted">地址：${esc(it.case.address || "—")}；认定原因：${esc(it.mark_reason)}${it.comment ? "；中心说明：" + esc(it.comment) : ""}（${esc(it.opened_by_name)}，${time(it.opened_at)}）</div>
        <div class="mt-2">当前答复：<strong class="answer-name">${esc(it.answer_name)}</strong>${it.reason ? "（" + esc(it.reason) + "）" : ""}
          ${it.decided_dept_name ? `｜中心确定责任单位：<strong>${esc(it.decided_dept_name)}</strong>` : ""}</div>
        ${open ? `<div class="row g-2 mt-1 align-items-center"><div class="col-md-6"><input class="form-control form-control-sm reason" maxlength="500" placeholder="理由（不属于本单位时必填）"></div>
          <div class="col-md-6"><button class="btn btn-success btn-sm" data-answer="yes">属于本单位</button>
          <button class="btn btn-outline-danger btn-sm ms-1" data-answer="no">不属于本单位</button></div></div>` : ""}
      </div></div>`;
    }).join("");
  }

  $("ownership-list").addEventListener("click", async e => {
    const b = e.target.closest("button[data-answer]");
    if (!b) return;
    const card = b.closest(".card");
    try {
      await call("POST", `/api/cases/difficult/rounds/${card.dataset.round}/answer`,
        { answer: b.dataset.answer, reason: card.querySelector(".reason").value, dept_code: card.dataset.dept });
      toast("已提交答复"); load();
    } catch (err) { toast(err.message, "danger"); }
  });
  $("show-all").addEventListener("change", load);
  load();
})();
