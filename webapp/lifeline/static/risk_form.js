/* The risk point form (desk 采集上报, auditor 直接登记, phone 移动采集): the
   location is tapped on the map, the responsible department and person come
   from the responsibility list (/prefill), L/E/C only from the standard
   tables, D and the level shown before sending; the server computes them again. */
window.RiskForm = (function () {
  "use strict";
  const R = window.Risk;
  const $ = id => document.getElementById(id);

  async function init(opts) {
    const cfg = await R.config();
    const form = $("risk-form");
    const state = { lon: null, lat: null, marker: null };
    R.categoryOptions($("rf-category"), cfg, { leavesOnly: true });
    R.deptOptions($("rf-dept"), "（按位置自动确定）");
    $("rf-accidents").innerHTML = cfg.accident_types.map((a, i) =>
      '<label class="form-check form-check-inline mb-0"><input class="form-check-input" type="checkbox" name="rf-acc" value="' +
      R.esc(a) + '" id="rf-acc-' + i + '"> ' + R.esc(a) + "</label>").join("");
    ["l", "e", "c"].forEach(k => {
      $("rf-" + k).innerHTML = '<option value="">请选择</option>' + cfg.lec[k].options.map(o =>
        '<option value="' + o.value + '">' + o.value + "　" + R.esc(o.label) + "</option>").join("");
      $("rf-" + k).addEventListener("change", showLec);
    });
    $("rf-submit").textContent = opts.submitText || "提交";
    $("rf-category").addEventListener("change", () => { fillHazards(); prefill(); });

    function fillHazards() {
      const cat = cfg.categories.find(c => c.code === $("rf-category").value);
      const hz = cat ? cat.hazards.filter(h => h.enabled) : [];
      $("rf-hazards").innerHTML = hz.length ? hz.map((h, i) =>
        '<label class="form-check form-check-inline mb-0"><input class="form-check-input" type="checkbox" name="rf-hz" value="' +
        R.esc(h.name) + '" id="rf-hz-' + i + '"> ' + R.esc(h.name) + "</label>").join("") : "该类别暂无隐患类型";
      document.querySelectorAll("input[name=rf-hz]").forEach(el => el.addEventListener("change", prefill));
    }
    function level(d) {
      for (const r of cfg.levels) {
        if (r.min_d == null) { continue; }
        if (d > r.min_d || (r.min_inclusive && d === r.min_d)) { return r; }
      }
      return cfg.levels[cfg.levels.length - 1];
    }
    function showLec() {
      const v = ["l", "e", "c"].map(k => parseFloat($("rf-" + k).value));
      if (v.some(isNaN)) { $("rf-lec").textContent = "D = L × E × C = —"; return; }
      const d = Math.round(v[0] * v[1] * v[2] * 100) / 100;
      const lv = level(d);
      $("rf-lec").innerHTML = "D = " + v.join(" × ") + " = <b>" + d + '</b> → <span class="badge" style="background:' +
        lv.colour + '">' + R.esc(lv.name) + "</span>";
    }
    const map = R.map($("rf-map"), { zoomControl: true });
    map.on("click", e => {
      state.lon = +e.latlng.lng.toFixed(7); state.lat = +e.latlng.lat.toFixed(7);
      if (state.marker) { state.marker.setLatLng(e.latlng); } else { state.marker = L.marker(e.latlng).addTo(map); }
      $("rf-where").textContent = "经度 " + state.lon + "，纬度 " + state.lat;
      form.dataset.located = "1";
      prefill();
    });
    async function prefill() {
      if (state.lon == null) { return; }
      const p = new URLSearchParams({ lon: state.lon, lat: state.lat, category: $("rf-category").value });
      document.querySelectorAll("input[name=rf-hz]:checked").forEach(el => p.append("hazard", el.value));
      try {
        const r = await R.call("GET", (R.refs.can_edit ? "/api/lifeline/risk/collect/prefill?" : "/api/lifeline/risk/prefill?") + p);
        $("rf-where").textContent = "经度 " + state.lon + "，纬度 " + state.lat + "　" + (r.location_text || "") +
          (r.location.resp_grid_name ? "　责任网格：" + r.location.resp_grid_name : "");
        if (!$("rf-location").value) { $("rf-location").value = r.location_text || ""; }
        if (r.dept_code) { $("rf-dept").value = r.dept_code; }
        if (r.resp_person) { $("rf-person").value = r.resp_person; }
        if (r.resp_phone) { $("rf-phone").value = r.resp_phone; }
        $("rf-error").textContent = "";
      } catch (e) { $("rf-error").textContent = e.message; }
    }
    form.addEventListener("submit", async ev => {
      ev.preventDefault();
      const data = {
        name: $("rf-name").value, category: $("rf-category").value, risk_object: $("rf-object").value,
        risk_source: $("rf-source").value, location: $("rf-location").value, description: $("rf-desc").value,
        resp_person: $("rf-person").value, resp_phone: $("rf-phone").value,
        hazards: Array.from(document.querySelectorAll("input[name=rf-hz]:checked")).map(x => x.value),
        accident_types: Array.from(document.querySelectorAll("input[name=rf-acc]:checked")).map(x => x.value),
        l: $("rf-l").value === "" ? null : parseFloat($("rf-l").value),
        e: $("rf-e").value === "" ? null : parseFloat($("rf-e").value),
        c: $("rf-c").value === "" ? null : parseFloat($("rf-c").value)
      };
      if ($("rf-dept").value) { data.dept_code = $("rf-dept").value; }
      if (state.lon != null) { data.lon = state.lon; data.lat = state.lat; }
      if (opts.source) { data.source = opts.source; }
      const fd = new FormData();
      fd.append("data", JSON.stringify(data));
      Array.from($("rf-photo").files).forEach(f => fd.append("photo", f));
      $("rf-submit").disabled = true;
      try {
        const r = await R.call("POST", opts.url, fd, true);
        form.reset(); fillHazards(); showLec();
        if (state.marker) { map.removeLayer(state.marker); state.marker = null; state.lon = state.lat = null; }
        $("rf-where").textContent = "尚未选择位置";
        $("rf-error").textContent = "";
        opts.onDone && opts.onDone(r);
      } catch (e) {
        $("rf-error").textContent = e.message;
      } finally { $("rf-submit").disabled = false; }
    });
    return { map };
  }
  return { init };
})();
