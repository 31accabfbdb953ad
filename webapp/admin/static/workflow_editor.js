/* 流程编辑器：bpmn-js（本地提供）编辑一个流程版本或新建流程，保存时经部署接口
   POST /api/admin/workflows 校验并生成新版本；服务器拒绝时在图旁显示原因并高亮其指出的元素。
   bpmn-js core has no properties panel: the small panel here edits what our
   processes need (id, name, condition expressions, documentation; lane → role hint).
   Without admin:workflow:edit the page loads the NavigatedViewer and the panel is read-only. */
(function () {
  "use strict";
  const $ = id => document.getElementById(id);
  const cfg = JSON.parse($("wf-editor-data").textContent);
  const csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  const canEdit = !!cfg.can_edit;
  const BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL";
  const ID_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
  const TYPES = {
    process: "流程", collaboration: "协作", participant: "池", lane: "泳道", laneSet: "泳道集",
    userTask: "用户任务", manualTask: "人工任务", task: "任务", scriptTask: "脚本任务", serviceTask: "服务任务",
    sendTask: "发送任务", receiveTask: "接收任务", businessRuleTask: "业务规则任务", callActivity: "调用活动",
    subProcess: "子流程", startEvent: "开始事件", endEvent: "结束事件", intermediateCatchEvent: "中间捕获事件",
    intermediateThrowEvent: "中间抛出事件", boundaryEvent: "边界事件", exclusiveGateway: "排他网关",
    parallelGateway: "并行网关", inclusiveGateway: "包容网关", eventBasedGateway: "事件网关",
    sequenceFlow: "顺序流", messageFlow: "消息流", textAnnotation: "注释", association: "关联",
    dataObjectReference: "数据对象", dataStoreReference: "数据存储", group: "分组",
  };
  const typeName = t => TYPES[t] || t;
  const esc = s => String(s == null ? "" : s).replace(/[&<>"']/g,
    c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const enc = encodeURIComponent;

  const modeler = new BpmnJS({ container: "#canvas", keyboard: canEdit ? { bindTo: document } : undefined });
  const canvas = modeler.get("canvas");
  const registry = modeler.get("elementRegistry");
  const eventBus = modeler.get("eventBus");
  const selection = modeler.get("selection");
  const modeling = canEdit ? modeler.get("modeling") : null;
  const moddle = modeler.get("moddle");
  const commandStack = canEdit ? modeler.get("commandStack") : null;
  let selected = null;      // the element shown in the panel (null: the process)
  let marked = null;        // element id highlighted by the last refusal
  let dirty = false;

  // ------------------------------------------------------------ helpers

  async function call(method, url, body) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, credentials: "same-origin" };
    if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    const r = await fetch(url, opts);
    const isJson = (r.headers.get("Content-Type") || "").includes("json");
    const data = isJson ? await r.json().catch(() => null) : await r.text();
    if (!r.ok) {
      const e = (data && data.error) || {};
      const err = new Error(e.message || ("请求失败（" + r.status + "）"));
      err.status = r.status; err.code = e.code; err.details = e.details || {};
      throw err;
    }
    return data;
  }

  function toast(msg, kind) {
    const el = document.createElement("div");
    el.className = "alert alert-" + (kind || "success") + " shadow-sm py-2";
    el.textContent = msg;
    $("wf-toast").appendChild(el);
    setTimeout(() => el.remove(), 6000);
  }

  const versionUrl = v => `${cfg.api}/${enc(cfg.key)}/versions/${v}/bpmn`;

  function newDiagram() {
    const key = "process_" + Math.random().toString(36).slice(2, 8);
    return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="${BPMN_NS}" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs_${key}" targetNamespace="https://xiping.example/cityops/bpmn">
  <bpmn:process id="${key}" name="新流程" isExecutable="true">
    <bpmn:startEvent id="start" name="开始" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_${key}">
    <bpmndi:BPMNPlane id="plane_${key}" bpmnElement="${key}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36" /></bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`;
  }

  /** The executable process of the diagram and the shape that carries it (root or pool). */
  function processOf() {
    const root = canvas.getRootElement();
    const bo = root && root.businessObject;
    if (!bo) return null;
    if (bo.$type === "bpmn:Process") return { shape: root, bo };
    if (bo.$type === "bpmn:Collaboration") {
      const parts = (bo.participants || []).filter(p => p.processRef);
      const p = parts.find(x => x.processRef.id === cfg.key) || parts[0];
      if (p) return { shape: registry.get(p.id), bo: p.processRef };
    }
    return null;
  }

  const docOf = bo => ((bo.documentation || [])[0] || {}).text || "";

  // ------------------------------------------------------------ property panel

  function field(id, label, value, opts) {
    opts = opts || {};
    const dis = canEdit && !opts.readonly ? "" : " disabled";
    const input = opts.area
      ? `<textarea class="form-control${opts.mono ? " mono" : ""}" id="${id}" rows="${opts.rows || 2}"${dis}>${esc(value)}</textarea>`
      : `<input class="form-control${opts.mono ? " mono" : ""}" id="${id}" value="${esc(value)}"${dis}>`;
    return `<div class="mb-2"><label class="form-label" for="${id}">${label}</label>${input}` +
      (opts.help ? `<div class="form-text">${opts.help}</div>` : "") + "</div>";
  }

  function hints(el, bo, type) {
    const out = [];
    if (type === "lane") {
      const role = cfg.lane_roles[bo.name || ""];
      out.push(role
        ? `<div class="alert alert-info py-1 px-2 small mb-2" id="p-lane-role">对应角色：${esc(role.name)}（<span class="mono">${esc(role.code)}</span>），该泳道的任务派给此角色办理。</div>`
        : `<div class="alert alert-warning py-1 px-2 small mb-2" id="p-lane-role">泳道名称未对应任何角色。案件流程的泳道须命名为：${Object.keys(cfg.lane_roles).map(esc).join("、")}。</div>`);
    }
    if (type === "userTask" && cfg.contract) {
      const acts = cfg.contract.tasks[bo.id];
      out.push(acts
        ? `<div class="alert alert-info py-1 px-2 small mb-2" id="p-task-actions">案件引擎在此环节提供的办理动作：${acts.map(esc).join("、")}。任务标识不可修改。</div>`
        : `<div class="alert alert-warning py-1 px-2 small mb-2" id="p-task-actions">案件引擎不认识任务标识“${esc(bo.id)}”：可用 ${Object.keys(cfg.contract.tasks).map(esc).join("、")}。</div>`);
    }
    return out.join("");
  }

  function renderPanel() {
    const body = $("props");
    const proc = processOf();
    const el = selected && registry.get(selected.id) ? selected : null;
    if (!el || el === canvas.getRootElement()) {
      if (!proc) { body.innerHTML = `<p class="text-muted small mb-0">没有流程</p>`; $("props-type").textContent = ""; return; }
      $("props-type").textContent = "流程";
      const bo = proc.bo;
      body.innerHTML =
        field("p-proc-id", "流程标识", bo.id, { mono: true, readonly: !!cfg.key,
          help: cfg.key ? "已部署流程的标识不能修改（版本按标识编号）" : "字母或下划线开头，只含字母、数字及 _ . -" }) +
        field("p-proc-name", "流程名称", bo.name || "") +
        `<div class="form-check mb-2"><input class="form-check-input" type="checkbox" id="p-proc-exec"` +
        `${bo.isExecutable ? " checked" : ""}${canEdit ? "" : " disabled"}><label class="form-check-label small" for="p-proc-exec">可执行（部署必须勾选）</label></div>` +
        field("p-proc-doc", "说明", docOf(bo), { area: true, rows: 3 });
      if (canEdit) bindProcess(proc);
      return;
    }
    const bo = el.businessObject;
    const local = bo.$type.replace(/^bpmn:/, "");
    const type = local.charAt(0).toLowerCase() + local.slice(1);  // moddle's UserTask is XML's userTask
    $("props-type").textContent = typeName(type);
    const lockId = !!(cfg.contract && type === "userTask" && cfg.contract.tasks[bo.id]);
    let html = hints(el, bo, type) +
      field("p-id", "标识（id）", bo.id, { mono: true, readonly: lockId }) + field("p-name", "名称", bo.name || "");
    if (type === "sequenceFlow") {
      const cond = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
      html += field("p-cond", "条件表达式", cond, { area: true, mono: true,
        help: "Python 表达式，如 <span class=\"mono\">decision == 'pass'</span>；留空表示无条件" });
    }
    if (type === "participant" && bo.processRef) {
      html += `<p class="small text-muted mb-2">所含流程：<span class="mono">${esc(bo.processRef.id)}</span>（点击空白处编辑流程属性）</p>`;
    }
    html += field("p-doc", "说明", docOf(bo), { area: true, rows: 3 });
    body.innerHTML = html;
    if (canEdit) bindElement(el);
  }

  function onChange(id, fn) {
    const input = $(id);
    if (input) input.addEventListener("change", () => { try { fn(input.value.trim(), input); } catch (e) { toast(e.message, "danger"); } });
  }

  function docs(text) {
    return text ? [moddle.create("bpmn:Documentation", { text })] : [];
  }

  function validId(id, input, current) {
    if (id === current) return false;
    if (!ID_RE.test(id)) { input.value = current; throw new Error("标识须以字母或下划线开头，只含字母、数字及 _ . -"); }
    if (moddle.ids && moddle.ids.assigned(id)) { input.value = current; throw new Error(`标识“${id}”已被其他元素使用`); }
    return true;
  }

  function bindElement(el) {
    const bo = el.businessObject;
    onChange("p-id", (v, input) => { if (validId(v, input, bo.id)) { modeling.updateProperties(el, { id: v }); selected = registry.get(v); } });
    onChange("p-name", v => modeling.updateLabel(el, v || null));
    onChange("p-cond", v => modeling.updateProperties(el, {
      conditionExpression: v ? moddle.create("bpmn:FormalExpression", { body: v }) : undefined }));
    onChange("p-doc", v => modeling.updateProperties(el, { documentation: docs(v) }));
  }

  function bindProcess(proc) {
    onChange("p-proc-id", (v, input) => {
      if (validId(v, input, proc.bo.id)) modeling.updateModdleProperties(proc.shape, proc.bo, { id: v });
    });
    onChange("p-proc-name", v => modeling.updateModdleProperties(proc.shape, proc.bo, { name: v || undefined }));
    $("p-proc-exec").addEventListener("change", ev =>
      modeling.updateModdleProperties(proc.shape, proc.bo, { isExecutable: ev.target.checked }));
    onChange("p-proc-doc", v => modeling.updateModdleProperties(proc.shape, proc.bo, { documentation: docs(v) }));
  }

  eventBus.on("selection.changed", e => {
    const one = e.newSelection.length === 1 ? e.newSelection[0] : null;
    selected = one && one.labelTarget ? one.labelTarget : one;  // an external label edits its flow or event
    renderPanel();
  });
  eventBus.on("elements.changed", () => {
    // Re-render after undo/redo or canvas edits, but never under the user's cursor.
    if (!$("props").contains(document.activeElement)) renderPanel();
  });

  // ------------------------------------------------------------ refusals

  function clearMark() {
    if (marked && registry.get(marked)) canvas.removeMarker(marked, "wf-invalid");
    marked = null;
  }

  /** The element a refusal is about: details.element, else the first diagram id the message names. */
  function elementOf(err) {
    const d = err.details || {};
    if (d.element && registry.get(d.element)) return d.element;
    const words = (err.message || "").match(/[A-Za-z_][A-Za-z0-9_.-]*/g) || [];
    return words.find(w => registry.get(w) && w !== canvas.getRootElement().id) || null;
  }

  /** Centre an element at a readable zoom (at least 100 %). */
  function focus(el) {
    const pts = el.waypoints || [{ x: el.x, y: el.y }, { x: el.x + el.width, y: el.y + el.height }];
    const xs = pts.map(p => p.x), ys = pts.map(p => p.y);
    const cx = (Math.min(...xs) + Math.max(...xs)) / 2, cy = (Math.min(...ys) + Math.max(...ys)) / 2;
    const vb = canvas.viewbox();
    const scale = Math.max(vb.scale, 1);
    const w = vb.outer.width / scale, h = vb.outer.height / scale;
    canvas.viewbox({ x: cx - w / 2, y: cy - h / 2, width: w, height: h });
  }

  function showError(err) {
    clearMark();
    const box = $("wf-error");
    box.textContent = "未保存：" + err.message;
    box.classList.remove("d-none");
    const id = elementOf(err);
    box.dataset.element = id || "";
    if (!id) return;
    marked = id;
    canvas.addMarker(id, "wf-invalid");
    const el = registry.get(id);
    selection.select(el);
    focus(el);
    const a = document.createElement("a");
    a.href = "#"; a.className = "d-block mt-1"; a.textContent = `定位到元素 ${id}`;
    a.addEventListener("click", ev => { ev.preventDefault(); selection.select(el); focus(el); });
    box.appendChild(a);
  }

  function hideError() {
    clearMark();
    $("wf-error").classList.add("d-none");
    $("wf-error").dataset.element = "";
  }

  // ------------------------------------------------------------ load, toolbar

  async function load() {
    const xml = cfg.key ? await call("GET", versionUrl(cfg.version)) : newDiagram();
    const res = await modeler.importXML(xml);
    if (res.warnings && res.warnings.length) console.warn("bpmn import warnings", res.warnings);
    canvas.zoom("fit-viewport", "auto");
    selected = null;
    renderPanel();
    dirty = false;
    $("canvas").dataset.ready = "1";
  }

  const zoomBy = f => canvas.zoom(canvas.zoom() * f, "auto");
  $("btn-zoom-in").addEventListener("click", () => zoomBy(1.2));
  $("btn-zoom-out").addEventListener("click", () => zoomBy(1 / 1.2));
  $("btn-fit").addEventListener("click", () => canvas.zoom("fit-viewport", "auto"));

  $("btn-download").addEventListener("click", async () => {
    const { xml } = await modeler.saveXML({ format: true });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
    a.download = `${processOf() ? processOf().bo.id : "process"}${cfg.version ? "-v" + cfg.version + "-edit" : ""}.bpmn`;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });

  // ------------------------------------------------------------ diff

  /** Model elements by id (diagram-interchange elements ignored: moving shapes is not a change). */
  function modelIndex(xml) {
    const doc = new DOMParser().parseFromString(xml, "application/xml");
    const out = new Map();
    for (const el of doc.getElementsByTagNameNS(BPMN_NS, "*")) {
      const id = el.getAttribute("id");
      if (!id) continue;
      const own = [...el.children].filter(c => c.namespaceURI === BPMN_NS && !c.getAttribute("id"));
      const cond = own.find(c => c.localName === "conditionExpression");
      const doc0 = own.find(c => c.localName === "documentation");
      out.set(id, {
        type: el.localName, name: el.getAttribute("name") || "",
        cond: cond ? cond.textContent.trim() : "", doc: doc0 ? doc0.textContent.trim() : "",
        attrs: [...el.attributes].filter(a => !["id", "name"].includes(a.localName))
          .map(a => `${a.localName}=${a.value}`).sort().join(" "),
        refs: own.filter(c => !["conditionExpression", "documentation"].includes(c.localName))
          .map(c => `${c.localName}:${c.textContent.trim()}`).sort().join(" "),
      });
    }
    return out;
  }

  function diff(oldXml, newXml) {
    const a = modelIndex(oldXml), b = modelIndex(newXml);
    const rows = [];
    for (const [id, n] of b) {
      const o = a.get(id);
      if (!o) { rows.push({ kind: "新增", id, type: n.type, text: n.name || n.cond }); continue; }
      const what = [];
      if (o.type !== n.type) what.push(`类型：${typeName(o.type)} → ${typeName(n.type)}`);
      if (o.name !== n.name) what.push(`名称：“${o.name}” → “${n.name}”`);
      if (o.cond !== n.cond) what.push(`条件：${o.cond || "（无）"} → ${n.cond || "（无）"}`);
      if (o.doc !== n.doc) what.push("说明已修改");
      if (o.attrs !== n.attrs) what.push("属性已修改");
      if (o.refs !== n.refs) what.push("连接或成员已修改");
      if (what.length) rows.push({ kind: "修改", id, type: n.type, text: what.join("；") });
    }
    for (const [id, o] of a) if (!b.has(id)) rows.push({ kind: "删除", id, type: o.type, text: o.name || o.cond });
    return rows;
  }

  $("btn-diff").addEventListener("click", async () => {
    const body = $("diff-table").querySelector("tbody");
    const current = cfg.active_version || cfg.version;
    if (!cfg.key || !current) {
      $("diff-summary").textContent = "新建流程尚无已部署版本，无从比较。";
      body.innerHTML = "";
    } else {
      try {
        const [oldXml, { xml }] = await Promise.all([call("GET", versionUrl(current)), modeler.saveXML({ format: true })]);
        const rows = diff(oldXml, xml);
        const count = k => rows.filter(r => r.kind === k).length;
        $("diff-summary").textContent = rows.length
          ? `与当前生效的第 ${current} 版相比：新增 ${count("新增")} 个、删除 ${count("删除")} 个、修改 ${count("修改")} 个元素（只比较流程模型，不比较图形位置）。`
          : `与当前生效的第 ${current} 版相比，流程模型没有变化（图形位置的移动不计）。`;
        const badge = { 新增: "text-bg-success", 删除: "text-bg-danger", 修改: "text-bg-warning" };
        body.innerHTML = rows.map(r => `<tr data-id="${esc(r.id)}"><td><span class="badge ${badge[r.kind]}">${r.kind}</span></td>
          <td class="mono">${esc(r.id)}</td><td>${esc(typeName(r.type))}</td><td>${esc(r.text)}</td></tr>`).join("");
      } catch (e) {
        $("diff-summary").textContent = e.message;
        body.innerHTML = "";
      }
    }
    bootstrap.Modal.getOrCreateInstance($("diff-modal")).show();
  });

  // ------------------------------------------------------------ save

  if (canEdit) {
    const saveModal = new bootstrap.Modal($("save-modal"));
    const updateUndo = () => {
      $("btn-undo").disabled = !commandStack.canUndo();
      $("btn-redo").disabled = !commandStack.canRedo();
    };
    $("btn-undo").addEventListener("click", () => commandStack.undo());
    $("btn-redo").addEventListener("click", () => commandStack.redo());
    eventBus.on("commandStack.changed", () => { dirty = true; updateUndo(); });
    window.addEventListener("beforeunload", ev => { if (dirty) { ev.preventDefault(); ev.returnValue = ""; } });

    $("btn-save").addEventListener("click", () => {
      $("save-error").classList.add("d-none");
      $("s-remark").value = "";
      saveModal.show();
    });

    $("save-form").addEventListener("submit", async ev => {
      ev.preventDefault();
      const remark = $("s-remark").value.trim();
      const errBox = $("save-error");
      if (!remark) {
        errBox.textContent = "请填写变更说明";
        errBox.classList.remove("d-none");
        return;
      }
      const proc = processOf();
      const { xml } = await modeler.saveXML({ format: true });
      const body = { xml, remark, category: cfg.category || $("s-category").value,
                     process_key: cfg.key || (proc && proc.bo.id) };
      $("save-submit").disabled = true;
      try {
        const d = await call("POST", cfg.api, body);
        saveModal.hide();
        hideError();
        dirty = false;
        if (!cfg.key) {
          location.href = cfg.editor_url.replace("__KEY__", enc(d.process_key)) + "?version=" + d.version;
          return;
        }
        cfg.version = cfg.active_version = d.version;
        $("wf-version").textContent = "V" + d.version;
        $("wf-status").textContent = d.status_name;
        $("wf-title").textContent = d.name;
        history.replaceState(null, "", location.pathname + "?version=" + d.version);
        toast(`已部署“${d.name}”第 ${d.version} 版：新案件将使用此版本，运行中的案件按原版本办结`);
      } catch (e) {
        saveModal.hide();
        showError(e);
      } finally {
        $("save-submit").disabled = false;
      }
    });
  }

  // Bootstrap ignores hide() during the show animation: expose when a dialog is fully open.
  document.querySelectorAll(".modal").forEach(m => {
    m.addEventListener("shown.bs.modal", () => { m.dataset.state = "shown"; });
    m.addEventListener("hidden.bs.modal", () => { m.dataset.state = "hidden"; });
  });

  load().catch(e => {
    $("canvas").dataset.ready = "error";
    showError(e);
  });
  window.wfEditor = { modeler, diff };  // for the console and the browser tests
})();
