/* Shared helpers of the 疑难案件 pages: JSON calls with the CSRF token, escaping, toasts. */
window.Difficult = (function () {
  "use strict";
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  async function call(method, url, body) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, credentials: "same-origin" };
    if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
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
  function toast(msg, kind) {
    const area = document.getElementById("toast-area");
    const el = document.createElement("div");
    el.className = "alert alert-" + (kind || "success") + " shadow-sm py-2";
    el.textContent = msg;
    area.appendChild(el);
    setTimeout(() => el.remove(), 5000);
  }
  function time(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const p = n => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }
  return { esc, call, toast, time, refs: JSON.parse(document.getElementById("difficult-refs").textContent) };
})();
