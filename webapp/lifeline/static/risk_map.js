/* 风险分布一张图 (R110): points coloured by level, a legend with counts,
   filters by category, level, street/community and department; the popup
   shows every R110 attribute including photos. */
(function () {
  "use strict";
  const R = window.Risk, $ = id => document.getElementById(id);
  const el = $("risk-map");
  const map = R.map(el);
  const layer = L.featureGroup().addTo(map);
  let cfg = null, ctl = null, first = true;

  function params() {
    const p = new URLSearchParams();
    if ($("f-category").value) p.set("category", $("f-category").value);
    const lv = Array.from(document.querySelectorAll("input[name=f-level]:checked")).map(x => x.value);
    if (lv.length && lv.length < 4) p.set("level", lv.join(","));
    if (lv.length === 0) p.set("level", "0");
    if ($("f-street").value) p.set("street", $("f-street").value);
    if ($("f-community").value) p.set("community", $("f-community").value);
    if ($("f-dept").value) p.set("dept", $("f-dept").value);
    return p;
  }
  function legend(counts) {
    if (ctl) { map.removeControl(ctl); }
    ctl = L.control({ position: "bottomright" });
    ctl.onAdd = () => {
      const d = L.DomUtil.create("div", "risk-legend");
      d.id = "risk-legend";
      d.innerHTML = "<b>风险等级</b>" + cfg.levels.map(r => '<div class="row-l"><span class="risk-dot" style="background:' +
        r.colour + '"></span>' + R.esc(r.name) + "（" + R.esc(r.colour_name) + "）" + (counts[r.level] || 0) + "</div>").join("");
      return d;
    };
    ctl.addTo(map);
    $("level-counts").innerHTML = cfg.levels.map(r => '<div class="lc" data-level="' + r.level + '" style="background:' +
      r.colour + '">' + R.esc(r.name) + "<b>" + (counts[r.level] || 0) + "</b></div>").join("");
  }
  async function load() {
    el.dataset.ready = "0";
    const p = params();
    if (p.get("level") === "0") { render({ features: [], counts: {}, numberMatched: 0 }); return; }
    try {
      render(await R.call("GET", "/api/lifeline/risk/points?" + p));
      $("map-error").textContent = "";
    } catch (e) { $("map-error").textContent = e.message; el.dataset.ready = "1"; }
  }
  function render(fc) {
    layer.clearLayers();
    fc.features.forEach(f => {
      const c = f.geometry.coordinates;
      R.marker(f.properties, [c[1], c[0]]).bindPopup(R.popup(f.properties), { maxWidth: 340 })
        .bindTooltip(R.esc(f.properties.name)).addTo(layer);
    });
    legend(fc.counts);
    $("total-count").textContent = fc.numberMatched;
    el.dataset.features = String(fc.numberMatched);
    if (first && fc.features.length) { map.fitBounds(layer.getBounds().pad(0.05)); first = false; }
    el.dataset.ready = "1";
  }
  R.config().then(c => {
    cfg = c;
    R.categoryOptions($("f-category"), cfg, { all: "全部类别" });
    $("f-levels").innerHTML = cfg.levels.map(r => '<label class="form-check form-check-inline mb-0">' +
      '<input class="form-check-input" type="checkbox" name="f-level" value="' + r.level + '" id="f-level-' + r.level + '" checked> ' +
      '<span class="risk-dot" style="background:' + r.colour + '"></span>' + R.esc(r.name) + "</label>").join("");
    R.regionOptions($("f-street"), $("f-community"));
    R.deptOptions($("f-dept"));
    $("filters").addEventListener("change", load);
    $("filters").addEventListener("reset", () => setTimeout(() => { $("f-street").dispatchEvent(new Event("change")); load(); }, 0));
    load();
  }).catch(e => { $("map-error").textContent = e.message; });
  window.riskMap = { map, layer, reload: load };
})();
