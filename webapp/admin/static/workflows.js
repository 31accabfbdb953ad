/* 流程定义页面：列表与筛选、部署新版本（上传 .bpmn）、版本历史（含流程图）、挂起/恢复、下载 XML、
   打开流程编辑器。
   Calls /api/admin/workflows… with the session cookie and the CSRF token. */
(function () {
  "use strict";
  const API = "/api/admin/workflows";
  const $ = id => document.getElementById(id);
  const app = $("wf-app");
  const canEdit = app.dataset.canEdit === "1";
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  const STATUS_BADGE = { active: "text-bg-success", superseded: "text-bg-light border", suspended: "text-bg-warning" };
  const histModal = new bootstrap.Modal($("hist-modal"));
  const deployModal = canEdit ? new bootstrap.Modal($("deploy-modal")) : null;
  let histKey = null;

  const esc = s => String(s == null ? "" : s).replace(/[&<>"']/g,
    c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const enc = encodeURIComponent;

  async function call(method, url, body) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, credentials: "same-origin" };
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    const r = await fetch(url, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const err = new Error((data && data.error && data.error.message) || ("请求失败（" + r.status + "）"));
      err.status = r.status;
      throw err;
    }
    return data;
  }

  function toast(msg, kind) {
    const el = document.createElement("div");
    el.className = "alert alert-" + (kind || "success") + " shadow-sm py-2";
    el.textContent = msg;
    $("wf-toast").appendChild(el);
    setTimeout(() => el.remove(), 5000);
  }

  function fmtTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso), p = n => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  const badge = d => `<span class="badge ${STATUS_BADGE[d.status] || ""}">${esc(d.status_name)}</span>`;

  function ops(d, inHistory) {
    const base = `${API}/${enc(d.process_key)}/versions/${d.version}`;
    let html = `<div class="btn-group btn-group-sm">`;
    if (!inHistory) html += `<button class="btn btn-outline-secondary py-0" data-op="history">历史</button>`;
    const editor = app.dataset.editorUrl.replace("__KEY__", enc(d.process_key)) + "?version=" + d.version;
    html += `<a class="btn btn-outline-primary py-0" data-edit href="${editor}">${canEdit ? "编辑" : "查看"}</a>`;
    html += `<a class="btn btn-outline-secondary py-0" href="${base}/bpmn" download>下载</a>`;
    if (canEdit) {
      html += d.status === "suspended"
        ? `<button class="btn btn-outline-success py-0" data-op="resume">恢复</button>`
        : `<button class="btn btn-outline-warning py-0" data-op="suspend">挂起</button>`;
    }
    return html + "</div>";
  }

  function query() {
    const p = new URLSearchParams({ size: "200" });
    if ($("q-category").value) p.set("category", $("q-category").value);
    if ($("q-key").value.trim()) p.set("key", $("q-key").value.trim());
    if ($("q-status").value) p.set("status", $("q-status").value);
    return p;
  }

  async function load() {
    const body = $("wf-body");
    try {
      const data = await call("GET", `${API}?${query()}`);
      if (!data.items.length) {
        body.innerHTML = `<tr><td colspan="9" class="text-center text-muted py-4">没有符合条件的流程定义</td></tr>`;
      } else {
        let prev = null;
        body.innerHTML = data.items.map(d => {
          const first = d.process_key !== prev;
          prev = d.process_key;
          return `<tr class="${first ? "first-of-key" : ""}" data-key="${esc(d.process_key)}" data-version="${d.version}">
            <td class="key">${first ? esc(d.process_key) : ""}</td><td>${esc(d.name)}</td><td>${esc(d.category_name)}</td>
            <td>V${d.version}</td><td>${badge(d)}</td><td>${esc(d.deployed_by || "—")}</td>
            <td>${fmtTime(d.deployed_at)}</td><td class="small">${esc(d.remark || "")}</td>
            <td class="text-end">${ops(d, false)}</td></tr>`;
        }).join("");
      }
      $("wf-info").textContent = `共 ${data.total} 个版本` + (data.total > data.items.length ? `（显示前 ${data.items.length} 个）` : "");
    } catch (e) {
      body.innerHTML = `<tr><td colspan="9" class="text-danger py-3">${esc(e.message)}</td></tr>`;
    }
  }

  async function showTasks(key, version) {
    const d = await call("GET", `${API}/${enc(key)}/versions/${version}`);
    $("hist-tasks-title").textContent = `第 ${version} 版的流程图与节点`;
    CaseDiagram.show($("hist-diagram"), `${API}/${enc(key)}/versions/${version}/bpmn`).catch(() => {});
    $("hist-tasks").innerHTML = d.tasks.map(t =>
      `<li>${esc(t.name || t.id)} <span class="text-muted">${esc(t.type)}${t.lane ? " · " + esc(t.lane) : ""}</span></li>`).join("");
  }

  async function history(key) {
    histKey = key;
    const data = await call("GET", `${API}/${enc(key)}/versions`);
    $("hist-title").textContent = `版本历史：${data.name}（${key}）`;
    $("hist-table").querySelector("tbody").innerHTML = data.items.map(d =>
      `<tr data-key="${esc(d.process_key)}" data-version="${d.version}">
        <td><a href="#" data-op="tasks">V${d.version}</a></td><td>${badge(d)}</td><td>${esc(d.deployed_by || "—")}</td>
        <td>${fmtTime(d.deployed_at)}</td><td class="small">${esc(d.remark || "")}</td>
        <td class="small text-muted" title="${esc(d.sha256)}">${esc(d.sha256.slice(0, 10))}…</td>
        <td class="text-end">${ops(d, true)}</td></tr>`).join("");
    // Draw the diagram once the modal has its size (fitting a hidden canvas gives a zero zoom).
    const first = data.active_version || (data.items[0] && data.items[0].version);
    if ($("hist-modal").classList.contains("show")) { if (first) await showTasks(key, first); return; }
    if (first) $("hist-modal").addEventListener("shown.bs.modal", () => showTasks(key, first).catch(e => toast(e.message, "danger")), { once: true });
    histModal.show();
  }

  async function act(tr, op) {
    const key = tr.dataset.key, version = tr.dataset.version;
    try {
      if (op === "history") return await history(key);
      if (op === "tasks") return await showTasks(key, version);
      if (op === "suspend" && !confirm(`确定挂起流程“${key}”第 ${version} 版？挂起后新案件不再使用该版本。`)) return;
      const d = await call("POST", `${API}/${enc(key)}/versions/${version}/${op}`);
      toast(`第 ${d.version} 版${op === "suspend" ? "已挂起" : "已恢复"}（当前状态：${d.status_name}）`);
      await load();
      if (histKey === key && $("hist-modal").classList.contains("show")) await history(key);
    } catch (e) {
      toast(e.message, "danger");
    }
  }

  document.addEventListener("click", ev => {
    const btn = ev.target.closest("[data-op]");
    if (!btn) return;
    const tr = btn.closest("tr[data-key]");
    if (!tr) return;
    ev.preventDefault();
    act(tr, btn.dataset.op);
  });

  $("wf-filter").addEventListener("submit", ev => { ev.preventDefault(); load(); });
  $("wf-filter").addEventListener("reset", () => setTimeout(load, 0));

  if (canEdit) {
    $("btn-deploy").addEventListener("click", () => {
      $("deploy-form").reset();
      $("deploy-error").classList.add("d-none");
      deployModal.show();
    });
    $("deploy-form").addEventListener("submit", async ev => {
      ev.preventDefault();
      const errBox = $("deploy-error");
      errBox.classList.add("d-none");
      if (!$("d-file").files.length) {
        errBox.textContent = "请选择 BPMN 流程文件";
        errBox.classList.remove("d-none");
        return;
      }
      const fd = new FormData();
      fd.append("file", $("d-file").files[0]);
      fd.append("category", $("d-category").value);
      if ($("d-key").value.trim()) fd.append("process_key", $("d-key").value.trim());
      if ($("d-remark").value.trim()) fd.append("remark", $("d-remark").value.trim());
      $("deploy-submit").disabled = true;
      try {
        const d = await call("POST", API, fd);
        deployModal.hide();
        toast(`已部署“${d.name}”第 ${d.version} 版，新案件将使用此版本`);
        $("q-key").value = d.process_key;
        await load();
      } catch (e) {
        errBox.textContent = e.message;
        errBox.classList.remove("d-none");
      } finally {
        $("deploy-submit").disabled = false;
      }
    });
  }

  load();
})();
