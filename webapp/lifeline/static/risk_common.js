/* Shared helpers of the risk pages: API calls with the CSRF token, escaping,
   the level table (names and colours come from the configuration, R108),
   an offline Leaflet map and the R110 popup. */
window.Risk = (function () {
  "use strict";
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  const refs = JSON.parse((document.getElementById("risk-refs") || { textContent: "{}" }).textContent);
  const state = { config: null };

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  async function call(method, url, body, isForm) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      if (isForm) { opts.body = body; } else { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    }
    const r = await fetch(url, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const err = new Error((data && data.error && data.error.message) || ("请求失败（" + r.status + "）"));
      err.status = r.status; err.data = data;
      throw err;
    }
    return data;
  }
  async function config() {
    if (!state.config) { state.config = refs.config || await call("GET", "/api/lifeline/risk/config"); }
    return state.config;
  }
  function toast(msg, kind) {
    let area = document.getElementById("toast-area");
    if (!area) { area = document.createElement("div"); area.id = "toast-area"; document.body.appendChild(area); }
    const el = document.createElement("div");
    el.className = "alert alert-" + (kind || "success") + " shadow-sm py-2";
    el.textContent = msg;
    area.appendChild(el);
    setTimeout(() => el.remove(), 5000);
  }
  function map(el, opts) {
    const m = L.map(el, Object.assign({ minZoom: 8, maxZoom: 19, preferCanvas: true }, opts || {}));
    L.tileLayer(refs.basemap, { maxZoom: 19, attribution: "西平县城运平台离线底图" }).addTo(m);
    m.setView([33.383, 114.02], 13);
    return m;
  }
  function marker(p, latlng) {
    return L.circleMarker(latlng, { radius: 7, color: "#333", weight: 1, fillColor: p.colour || "#888", fillOpacity: 0.9 });
  }
  function list(v) { return (v && v.length) ? v.map(esc).join("、") : "—"; }
  function num(v) { return v == null ? "—" : Number(v).toLocaleString("zh-CN"); }
  // The popup: every attribute R110 lists (基础信息 + 风险信息).
  function popup(p) {
    const photos = (p.photos || []).map(ph => '<a href="/api/lifeline/risk/photos/' + esc(ph) + '" target="_blank">' +
      '<img class="risk-photo" src="/api/lifeline/risk/photos/' + esc(ph) + '" alt="现场照片"></a>').join("");
    const row = (k, v) => "<tr><th>" + k + "</th><td>" + v + "</td></tr>";
    return '<div class="risk-popup"><div class="risk-popup-title"><span class="risk-dot" style="background:' + esc(p.colour) + '"></span>' +
      esc(p.name) + ' <small class="text-muted">' + esc(p.code) + "</small></div>" +
      '<div class="risk-popup-h">基础信息</div><table>' +
      row("风险点名称", esc(p.name)) + row("风险点类别", esc(p.category_name)) + row("监管单位", esc(p.dept_name || "—")) +
      row("责任人", esc(p.resp_person || "—") + (p.resp_phone ? "（" + esc(p.resp_phone) + "）" : "")) +
      row("所在位置", esc(p.location || p.region_name || "—")) +
      row("图片", photos || '<span class="text-muted">暂无</span>') + "</table>" +
      '<div class="risk-popup-h">风险信息</div><table>' +
      row("风险对象", esc(p.risk_object || "—")) + row("风险源", esc(p.risk_source || "—")) +
      row("存在隐患", list(p.hazards)) + row("事故类型", list(p.accident_types)) +
      row("事故可能性 L", num(p.l)) + row("暴露频繁度 E", num(p.e)) + row("危害后果 C", num(p.c)) +
      row("风险值 D", num(p.d)) +
      row("风险等级", '<span class="badge" style="background:' + esc(p.colour) + '">' + esc(p.level_name) + "</span>") +
      "</table></div>";
  }
  function levelBadge(p) {
    return '<span class="badge level-badge" style="background:' + esc(p.colour) + '">' + esc(p.level_name) + "</span>";
  }
  function fmtTime(s) { return s ? new Date(s).toLocaleString("zh-CN", { hour12: false }) : "—"; }
  // Category <select> options: roots as optgroups' labels, indented children.
  function categoryOptions(sel, cfg, opts) {
    const o = opts || {};
    const byParent = {};
    cfg.categories.forEach(c => { (byParent[c.parent_code || ""] = byParent[c.parent_code || ""] || []).push(c); });
    let html = o.all ? '<option value="">' + o.all + "</option>" : '<option value="">请选择类别</option>';
    (function walk(parent, depth) {
      (byParent[parent] || []).forEach(c => {
        if (!c.enabled && !o.disabled) { return; }
        const leaf = !byParent[c.code];
        html += '<option value="' + esc(c.code) + '"' + (o.leavesOnly && !leaf ? " disabled" : "") + ">" +
          "　".repeat(depth) + esc(c.name) + "</option>";
        walk(c.code, depth + 1);
      });
    })("", 0);
    sel.innerHTML = html;
  }
  function regionOptions(street, community) {
    street.innerHTML = '<option value="">全部街道</option>' + refs.streets.map(s => '<option value="' + s[0] + '">' + esc(s[1]) + "</option>").join("");
    function fill() {
      const st = street.value;
      community.innerHTML = '<option value="">全部社区</option>' + refs.communities
        .filter(c => !st || c[2] === st).map(c => '<option value="' + c[0] + '">' + esc(c[1]) + "</option>").join("");
    }
    street.addEventListener("change", fill);
    fill();
  }
  function deptOptions(sel, first) {
    sel.innerHTML = '<option value="">' + (first || "全部单位") + "</option>" +
      refs.depts.map(d => '<option value="' + d[0] + '">' + esc(d[1]) + "</option>").join("");
  }
  return { esc, call, config, toast, map, marker, popup, levelBadge, fmtTime, categoryOptions, regionOptions,
           deptOptions, refs, csrf, list, num };
})();
