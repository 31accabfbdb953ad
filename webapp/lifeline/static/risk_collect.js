/* The phone page (运行监测APP 风险点采集, R109): fill the form, tap the
   location, take photos, submit for review; below, my submissions and their decisions. */
(function () {
  "use strict";
  const R = window.Risk, $ = id => document.getElementById(id);
  async function mine() {
    const d = await R.call("GET", "/api/lifeline/risk/submissions/mine");
    $("my-subs").innerHTML = d.items.slice(0, 10).map(s => '<li class="border-bottom py-1" data-id="' + s.id + '">' +
      '<span class="badge bg-' + ({ pending: "warning text-dark", approved: "success", rejected: "danger" }[s.status]) + '">' +
      s.status_name + "</span> " + R.esc(s.data.name) + (s.risk_code ? "（" + R.esc(s.risk_code) + "）" : "") +
      (s.status === "rejected" && s.reason ? '<div class="text-danger">驳回理由：' + R.esc(s.reason) + "</div>" : "") +
      '<div class="text-muted">' + R.fmtTime(s.submitted_at) + "</div></li>").join("") || '<li class="text-muted">暂无</li>';
  }
  RiskForm.init({
    url: "/api/lifeline/risk/submissions", source: "mobile", submitText: "提交审核",
    onDone: s => {
      $("collect-done").hidden = false;
      $("collect-done").textContent = "已提交“" + s.data.name + "”，等待风险点审核员审核（" + s.level_name + "）";
      window.scrollTo(0, 0);
      mine();
    }
  });
  mine();
})();
