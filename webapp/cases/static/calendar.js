/* 工作日历页面：年历（点击日期设为休息/上班并填写说明）、工作时段编辑、节假日导入导出、时限试算。
   All writes go to /api/cases/config/calendar… with the session cookie and the CSRF token. */
(function () {
  "use strict";
  const API = "/api/cases/config/calendar";
  const $ = id => document.getElementById(id);
  const app = $("calendar-app");
  const { call, esc, toast } = window.AdminKit;  // shared JSON calls with the CSRF token
  const dayModal = new bootstrap.Modal($("day-modal"));
  const WEEK = ["一", "二", "三", "四", "五", "六", "日"];
  const state = { year: parseInt(app.dataset.year, 10), days: {}, periodsVersion: null, current: null };


  function pad(n) { return String(n).padStart(2, "0"); }
  function todayIso() { const d = new Date(); return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; }

  function dayClass(d) {
    let c = "day";
    if (d.is_workday) c += d.default_workday ? " work" : " makeup";
    else c += d.default_workday ? " holiday" : " off";
    if (d.date === todayIso()) c += " today";
    return c;
  }

  function renderMonths() {
    const out = [];
    for (let m = 1; m <= 12; m++) {
      const first = new Date(state.year, m - 1, 1);
      const lead = (first.getDay() + 6) % 7;  // Monday first
      const count = new Date(state.year, m, 0).getDate();
      let cells = "";
      for (let i = 0; i < lead; i++) cells += "<td></td>";
      for (let day = 1; day <= count; day++) {
        const iso = `${state.year}-${pad(m)}-${pad(day)}`;
        const d = state.days[iso];
        const title = (d.is_workday ? "上班" : "休息") + (d.note ? "：" + d.note : "");
        cells += `<td class="${dayClass(d)}" data-date="${iso}" title="${esc(title)}">${day}</td>`;
        if ((lead + day) % 7 === 0) cells += "</tr><tr>";
      }
      out.push(`<div class="month" data-month="${m}"><h6>${m} 月</h6><table><thead><tr>${
        WEEK.map(w => `<th>${w}</th>`).join("")}</tr></thead><tbody><tr>${cells}</tr></tbody></table></div>`);
    }
    $("months").innerHTML = out.join("");
  }

  function renderPeriods(periods, hoursPerDay) {
    $("periods-table").querySelector("tbody").innerHTML = periods.map(p => periodRow(p.start, p.end)).join("");
    $("hours-per-day").textContent = `每个工作日 ${hoursPerDay} 工作小时`;
  }

  function periodRow(start, end) {
    return `<tr><td><input type="time" class="form-control form-control-sm p-start" value="${esc(start)}"></td>
      <td><input type="time" class="form-control form-control-sm p-end" value="${esc(end)}"></td>
      <td><button type="button" class="btn btn-sm btn-outline-danger py-0 p-del" title="删除">×</button></td></tr>`;
  }

  async function load() {
    const data = await call("GET", `${API}?year=${state.year}`);
    state.days = Object.fromEntries(data.days.map(d => [d.date, d]));
    state.periodsVersion = data.periods_version;
    $("year-label").textContent = `${data.year} 年`;
    $("year-stats").textContent = `全年工作日 ${data.workdays} 天，例外日期 ${data.exceptions} 个`;
    renderMonths();
    renderPeriods(data.periods, data.hours_per_day);
    $("btn-export-xlsx").href = `${API}/export?year=${state.year}&format=xlsx`;
    $("btn-export-csv").href = `${API}/export?year=${state.year}&format=csv`;
  }

  function openDay(iso) {
    const d = state.days[iso];
    state.current = iso;
    const wd = WEEK[(new Date(iso + "T00:00:00").getDay() + 6) % 7];
    $("day-title").textContent = `${iso}（星期${wd}）`;
    $("day-default").textContent = `默认：${d.default_workday ? "上班" : "休息"}` + (d.exception ? "；当前已设为例外日期" : "");
    $(d.is_workday ? "day-off" : "day-work").checked = false;
    $(d.is_workday ? "day-work" : "day-off").checked = true;
    $("day-note").value = d.note || "";
    $("day-error").textContent = "";
    dayModal.show();
  }

  async function saveDay(reset) {
    const iso = state.current;
    try {
      let d;
      if (reset) d = await call("DELETE", `${API}/days/${iso}`);
      else d = await call("PUT", `${API}/days/${iso}`, { is_workday: $("day-work").checked, note: $("day-note").value });
      dayModal.hide();
      toast(`${iso} 已设为${d.is_workday ? "上班" : "休息"}${d.note ? "（" + d.note + "）" : ""}`);
      await load();
    } catch (e) { $("day-error").textContent = e.message; }
  }

  async function savePeriods() {
    const periods = [...$("periods-table").querySelectorAll("tbody tr")].map(tr => ({
      start: tr.querySelector(".p-start").value, end: tr.querySelector(".p-end").value }));
    try {
      const data = await call("PUT", `${API}/periods`, { periods, version: state.periodsVersion });
      state.periodsVersion = data.version;
      renderPeriods(data.periods, data.hours_per_day);
      toast("工作时段已保存");
    } catch (e) { toast(e.message, "danger"); }
  }

  async function importFile(file) {
    const fd = new FormData();
    fd.append("file", file);
    try {
      const r = await call("POST", `${API}/import`, fd, true);
      toast(`导入完成：新增 ${r.created}，更新 ${r.updated}，未变 ${r.unchanged}`);
      await load();
    } catch (e) { toast(e.message, "danger"); }
  }

  async function preview(ev) {
    ev.preventDefault();
    const p = new URLSearchParams({ start: $("p-start").value, hours: $("p-hours").value.trim(),
                                    natural: $("p-natural").checked ? "true" : "false" });
    try {
      const r = await call("GET", `${API}/preview?${p}`);
      $("p-result").className = "small ms-2 text-success";
      $("p-result").textContent = "截止：" + r.deadline.slice(0, 16).replace("T", " ");
    } catch (e) { $("p-result").className = "small ms-2 text-danger"; $("p-result").textContent = e.message; }
  }

  $("months").addEventListener("click", ev => {
    const td = ev.target.closest("td.day");
    if (td) openDay(td.dataset.date);
  });
  $("btn-day-save").addEventListener("click", () => saveDay(false));
  $("btn-day-reset").addEventListener("click", () => saveDay(true));
  $("btn-prev").addEventListener("click", () => { state.year -= 1; load().catch(e => toast(e.message, "danger")); });
  $("btn-next").addEventListener("click", () => { state.year += 1; load().catch(e => toast(e.message, "danger")); });
  $("btn-add-period").addEventListener("click", () => {
    $("periods-table").querySelector("tbody").insertAdjacentHTML("beforeend", periodRow("", ""));
  });
  $("periods-table").addEventListener("click", ev => {
    if (ev.target.classList.contains("p-del")) ev.target.closest("tr").remove();
  });
  $("btn-save-periods").addEventListener("click", savePeriods);
  $("btn-import").addEventListener("click", () => $("import-file").click());
  $("import-file").addEventListener("change", ev => {
    if (ev.target.files.length) importFile(ev.target.files[0]);
    ev.target.value = "";
  });
  $("preview-form").addEventListener("submit", preview);
  const now = new Date();
  $("p-start").value = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}:${pad(now.getMinutes())}`;
  load().catch(e => toast(e.message, "danger"));
})();
