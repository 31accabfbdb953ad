/* Small shared helpers for the administration pages: JSON calls with the CSRF
   token, HTML escaping and toasts. Pages use window.AdminKit. */
(function () {
  "use strict";
  const csrf = () => (document.querySelector('input[name="csrf_token"]') || {}).value || "";

  async function call(method, url, body, isForm) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf() }, credentials: "same-origin" };
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

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function toast(msg, kind) {
    let area = document.getElementById("toast-area");
    if (!area) {
      area = document.createElement("div");
      area.id = "toast-area";
      area.style.cssText = "position:fixed;bottom:1rem;right:1rem;z-index:1080;min-width:18rem";
      document.body.appendChild(area);
    }
    const el = document.createElement("div");
    el.className = "alert alert-" + (kind || "success") + " shadow-sm py-2";
    el.textContent = msg;
    area.appendChild(el);
    setTimeout(() => el.remove(), 5000);
  }

  window.AdminKit = { call, esc, toast };
})();
