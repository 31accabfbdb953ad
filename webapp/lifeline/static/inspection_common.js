/* Shared by the inspection pages: the period inputs (default: last 7 days) and formatting. */
(function () {
  "use strict";
  const $ = id => document.getElementById(id);
  const iso = d => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  function initPeriod(onChange) {
    const to = new Date(), from = new Date(Date.now() - 6 * 86400000);
    if ($("f-from") && !$("f-from").value) $("f-from").value = iso(from);
    if ($("f-to") && !$("f-to").value) $("f-to").value = iso(to);
    ["f-from", "f-to"].forEach(id => $(id) && $(id).addEventListener("change", onChange));
  }
  function period() {
    const q = new URLSearchParams();
    if ($("f-from") && $("f-from").value) q.set("from", $("f-from").value);
    if ($("f-to") && $("f-to").value) q.set("to", $("f-to").value);
    return q;
  }
  const fmt = s => s ? new Date(s).toLocaleString("zh-CN", { hour12: false }).slice(0, 16) : "—";
  function basemap(map, el) {
    L.tileLayer(el.dataset.basemapUrl, { maxZoom: 19, attribution: "离线底图 © 西平县城市运行管理服务平台" }).addTo(map);
  }
  window.Insp = { initPeriod, period, fmt, basemap };
})();
