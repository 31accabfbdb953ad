/* 风险清单 (R118): risk points grouped by hazard type with counts per level;
   clicking a group puts its points on the map (落图) and lists them; Excel export. */
(function () {
  "use strict";
  const R = window.Risk, $ = id => document.getElementById(id);
  const el = $("list-map");
  const map = R.map(el);
  const layer = L.featureGroup().addTo(map);
  let cfg = null, current = null;

  function params() {
    const p = new URLSearchParams();
    if ($("f-category").value) p.set("category", $("f-category").value);
    if ($("f-level").value) p.set("level", $("f-level").value);
    return p;
  }
  async function loadGroups() {
    const p = params();
    $("btn-export").href = "/api/lifeline/risk/export.xlsx?" + p;
    try {
      const d = await R.call("GET", "/api/lifeline/risk/groups?" + p);
      $("total-points").textContent = d.total_points;
      const colours = Object.fromEntries(cfg.levels.map(r => [r.level, r]));
      $("groups-table").querySelector("tbody").innerHTML = d.groups.map(g =>
        '<tr class="group-row" data-hazard="' + R.esc(g.hazard) + '"><td>' + R.esc(g.hazard_name) + "</td><td class=\"small\">" +
        R.esc(g.category_names) + '</td><td class="text-end count">' + g.count + '</td><td><div class="level-bar" title="' +
        [1, 2, 3, 4].map(i => colours[i].name + " " + g.levels[i]).join("，") + '">' +
        [1, 2, 3, 4].map(i => '<span style="width:' + (100 * g.levels[i] / g.count) + "%;background:" + colours[i].colour + '"></span>').join("") +
        "</div></td></tr>").join("");
      document.querySelectorAll(".group-row").forEach(tr => tr.addEventListener("click", () => show(tr)));
      const again = current && document.querySelector('.group-row[data-hazard="' + CSS.escape(current) + '"]');
      if (again) { show(again); } else { $("list-error").textContent = ""; showAll(); }
    } catch (e) { $("list-error").textContent = e.message; }
  }
  async function showAll() { await draw(params(), "全部风险点"); }
  async function show(tr) {
    document.querySelectorAll(".group-row.active").forEach(x => x.classList.remove("active"));
    tr.classList.add("active");
    current = tr.dataset.hazard;
    const p = params();
    p.set("hazard", current);
    await draw(p, tr.cells[0].textContent);
  }
  async function draw(p, title) {
    el.dataset.ready = "0";
    const fc = await R.call("GET", "/api/lifeline/risk/points?" + p);
    layer.clearLayers();
    fc.features.forEach(f => {
      const c = f.geometry.coordinates;
      R.marker(f.properties, [c[1], c[0]]).bindPopup(R.popup(f.properties), { maxWidth: 340 }).addTo(layer);
    });
    if (fc.features.length) { map.fitBounds(layer.getBounds().pad(0.1), { maxZoom: 16 }); }
    $("points-title").textContent = title + "：" + fc.numberMatched + " 个风险点";
    $("points-table").querySelector("tbody").innerHTML = fc.features.map(f => {
      const p = f.properties;
      return "<tr><td>" + R.esc(p.code) + "</td><td>" + R.esc(p.name) + "</td><td>" + R.esc(p.category_name) + "</td><td>" +
        R.levelBadge(p) + '</td><td class="text-end">' + R.num(p.d) + "</td></tr>";
    }).join("");
    el.dataset.features = String(fc.numberMatched);
    el.dataset.ready = "1";
  }
  R.config().then(c => {
    cfg = c;
    R.categoryOptions($("f-category"), cfg, { all: "全部类别" });
    $("f-level").innerHTML = '<option value="">全部等级</option>' + cfg.levels.map(r => '<option value="' + r.level + '">' + R.esc(r.name) + "</option>").join("");
    $("filters").addEventListener("change", () => { current = null; loadGroups(); });
    loadGroups();
  });
  window.riskList = { map, layer };
})();
