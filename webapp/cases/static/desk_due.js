/* 到期与超期: GET /api/cases/due-summary — counts by stage × department and the
   list of warning/overdue tasks in the caller's data scope; refresh every 30 s. */
(function () {
  "use strict";
  const K = window.AdminKit;
  const $ = id => document.getElementById(id);
  const DUE = { warning: ["bg-warning text-dark", "即将到期"], overdue: ["bg-danger", "已超期"] };

  function fmtTime(iso) {
    const d = new Date(iso);
    const p = n => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  function left(t) {
    if (t.left_hours == null) return "";
    const unit = t.natural ? "小时" : "工作小时";
    const h = Math.abs(t.left_hours).toFixed(1);
    return t.left_hours >= 0 ? `剩余 ${h} ${unit}` : `超期 ${h} ${unit}`;
  }

  async function load() {
    const p = new URLSearchParams();
    if ($("f-due").value) p.set("due", $("f-due").value);
    if ($("f-stage").value) p.set("stage", $("f-stage").value);
    try {
      const d = await K.call("GET", "/api/cases/due-summary?" + p);
      $("total-warning").textContent = d.totals.warning;
      $("total-overdue").textContent = d.totals.overdue;
      // Pivot: one row per stage × department with the two counts side by side.
      const rows = new Map();
      d.counts.forEach(c => {
        const k = c.stage + "|" + (c.dept_code || "");
        if (!rows.has(k)) rows.set(k, { stage: c.stage_name, dept: c.dept_name, code: k, warning: 0, overdue: 0 });
        rows.get(k)[c.due] += c.count;
      });
      $("due-counts").tBodies[0].innerHTML = rows.size ? [...rows.values()].map(r =>
        `<tr data-key="${K.esc(r.code)}"><td>${K.esc(r.stage)}</td><td>${K.esc(r.dept)}</td>
         <td class="text-end n-warning">${r.warning || ""}</td><td class="text-end n-overdue text-danger fw-bold">${r.overdue || ""}</td></tr>`).join("")
        : '<tr><td colspan="4" class="text-center text-muted">没有即将到期或超期的任务</td></tr>';
      $("due-items").tBodies[0].innerHTML = d.items.length ? d.items.map(t =>
        `<tr class="due-${t.due}" data-task-id="${t.task_id}"><td><a href="/cases/${t.case_id}">${K.esc(t.case_no)}</a></td>
         <td>${K.esc(t.stage_name)}</td><td>${K.esc(t.dept_name)}</td>
         <td>${K.esc(t.class_name || "")}<div class="text-muted small">${K.esc(t.address || "")}</div></td>
         <td><span class="badge ${DUE[t.due][0]}">${DUE[t.due][1]}</span><div class="small text-muted">${fmtTime(t.deadline)}</div></td>
         <td class="small">${K.esc(left(t))}</td></tr>`).join("")
        : '<tr><td colspan="6" class="text-center text-muted">—</td></tr>';
      $("refreshed").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false });
      $("due-app").dataset.loaded = "1";
    } catch (e) {
      K.toast(e.message, "danger");
    }
  }
  $("f-due").addEventListener("change", load);
  $("f-stage").addEventListener("change", load);
  $("btn-refresh").addEventListener("click", load);
  setInterval(load, 30000);
  load();
})();
