/* CaseDiagram — a read-only BPMN diagram with a case's progress marked.

   Usage on a case page (the script loads bpmn-js's NavigatedViewer and its CSS
   from /assets/vendor/bpmn-js/ itself, once, when first needed):

     <div id="case-diagram" style="height: 420px"></div>
     <script src="{{ url_for('admin.static', filename='bpmn-view.js') }}"></script>
     <script>
       // case = GET /api/cases/<id>
       const url = `/api/admin/workflows/${case.process.key}/versions/${case.process.version}/diagram`;
       CaseDiagram.show(document.getElementById("case-diagram"), url, {
         current: case.tasks.filter(t => t.status === "open").map(t => t.stage),   // orange
         done: case.tasks.filter(t => t.status === "done").map(t => t.stage),      // green
       }).then(viewer => { ... });
     </script>

   xmlUrl: any URL answering the BPMN XML. For case pages use
     /api/admin/workflows/<key>/versions/<n>/diagram   (permission case:view; case processes only)
   Administrators may also use …/versions/<n>/bpmn     (permission admin:workflow:view).
   options: current / done: BPMN task ids (case_task.stage); ids not in the diagram are ignored.
            fit: false keeps the viewer's default zoom (default: fit the container).
   Returns a Promise of the bpmn-js viewer (get("canvas") etc.); on failure the
   element shows the reason in Chinese and the Promise rejects.
   The container gets data-ready="1" when drawn, "error" on failure, and a
   legend below the canvas. Panning/zooming: drag and mouse wheel. The bpmn.io
   watermark stays (bpmn-js licence). Calling show() again on the same element
   replaces the previous diagram. */
(function () {
  "use strict";
  const VENDOR = "/assets/vendor/bpmn-js/dist/";
  const CSS = ["assets/diagram-js.css", "assets/bpmn-js.css", "assets/bpmn-font/css/bpmn-embedded.css"];
  const STYLE = `
    .case-diagram-canvas { height: calc(100% - 1.6rem); min-height: 240px; position: relative; }
    .djs-element.case-done .djs-visual > :nth-child(1) { fill: #d1e7dd !important; stroke: #198754 !important; stroke-width: 2.5px !important; }
    .djs-element.case-current .djs-visual > :nth-child(1) { fill: #ffe5d0 !important; stroke: #fd7e14 !important; stroke-width: 3.5px !important; }
    .case-diagram-legend { font-size: .8rem; color: #6c757d; margin-top: .25rem; }
    .case-diagram-legend i { display: inline-block; width: .9rem; height: .9rem; border-radius: 3px; vertical-align: -2px; margin: 0 .25rem 0 .75rem; }
    .case-diagram-error { color: #b02a37; font-size: .9rem; padding: .5rem; }`;
  let loading = null;

  function addOnce(tag, attrs) {
    const key = attrs.href || attrs.src;
    if (document.querySelector(`${tag}[${attrs.href ? "href" : "src"}="${key}"]`)) return null;
    const el = document.createElement(tag);
    Object.assign(el, attrs);
    document.head.appendChild(el);
    return el;
  }

  /** bpmn-js's viewer (already on the page — the modeler also views — or loaded now). */
  function viewerClass() {
    if (window.BpmnJS) return Promise.resolve(window.BpmnJS);
    if (!loading) {
      CSS.forEach(p => addOnce("link", { rel: "stylesheet", href: VENDOR + p }));
      loading = new Promise((resolve, reject) => {
        const s = addOnce("script", { src: VENDOR + "bpmn-navigated-viewer.production.min.js" }) ||
          document.querySelector(`script[src="${VENDOR}bpmn-navigated-viewer.production.min.js"]`);
        s.addEventListener("load", () => resolve(window.BpmnJS));
        s.addEventListener("error", () => { loading = null; reject(new Error("流程图组件加载失败")); });
      });
    }
    return loading;
  }

  function ensureStyle() {
    if (document.getElementById("case-diagram-style")) return;
    const style = document.createElement("style");
    style.id = "case-diagram-style";
    style.textContent = STYLE;
    document.head.appendChild(style);
  }

  async function fetchXml(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { "Accept": "application/xml" } });
    if (!r.ok) {
      let msg = `流程图加载失败（${r.status}）`;
      try { msg = (await r.json()).error.message || msg; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return r.text();
  }

  async function show(el, xmlUrl, options) {
    const opts = Object.assign({ current: [], done: [], fit: true }, options || {});
    if (el._caseDiagram) { el._caseDiagram.destroy(); el._caseDiagram = null; }
    el.innerHTML = "";
    el.dataset.ready = "0";
    ensureStyle();
    const box = document.createElement("div");
    box.className = "case-diagram-canvas";
    el.appendChild(box);
    try {
      const [Viewer, xml] = await Promise.all([viewerClass(), fetchXml(xmlUrl)]);
      const viewer = new Viewer({ container: box });
      el._caseDiagram = viewer;
      await viewer.importXML(xml);
      const canvas = viewer.get("canvas");
      const registry = viewer.get("elementRegistry");
      const mark = (ids, cls) => (ids || []).forEach(id => { if (registry.get(id)) canvas.addMarker(id, cls); });
      mark(opts.done.filter(id => !(opts.current || []).includes(id)), "case-done");
      mark(opts.current, "case-current");
      if (opts.fit) canvas.zoom("fit-viewport", "auto");
      const legend = document.createElement("div");
      legend.className = "case-diagram-legend";
      legend.innerHTML = '图例：<i style="background:#d1e7dd;border:1px solid #198754"></i>已办结' +
        '<i style="background:#ffe5d0;border:1px solid #fd7e14"></i>当前环节';
      el.appendChild(legend);
      el.dataset.ready = "1";
      return viewer;
    } catch (e) {
      el.dataset.ready = "error";
      const msg = document.createElement("div");
      msg.className = "case-diagram-error";
      msg.textContent = e.message || String(e);
      el.appendChild(msg);
      throw e;
    }
  }

  window.CaseDiagram = { show };
})();
