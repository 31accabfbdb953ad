/* 问题上报 (城管通 mobile web page): class from the dictionaries, a pin on the
 * offline map (tap, drag or the phone's position), description, address and
 * photos; submitted as multipart to POST /api/cases. The server decides; its
 * Chinese reason is shown beside the field it concerns. */
(function () {
  "use strict";
  const K = window.AdminKit;
  const app = document.getElementById("report-app");
  const form = document.getElementById("report-form");
  if (!app || !form || !window.L) { return; }
  const classes = JSON.parse(document.getElementById("class-data").textContent);
  const start = JSON.parse(document.getElementById("start-data").textContent);
  const maxMedia = Number(app.dataset.maxMedia || 9);
  const $ = (id) => document.getElementById(id);

  // Which form field a server error code concerns.
  const FIELD_OF = [
    [/^source_/, "source"], [/^(kind_|class_)/, "class"], [/^description_/, "description"],
    [/^address_/, "address"], [/^(location_|crs_|outside_county|latlon_swapped|coordinates_|geometry_)/, "location"],
    [/^(media_|upload_|image_)/, "media"]
  ];
  const INPUT_OF = { source: "source", class: "small-class", description: "description", address: "address" };

  // -- map ------------------------------------------------------------------
  const map = L.map("report-map", { zoomControl: true, minZoom: 8, maxZoom: 20, tap: true });
  L.tileLayer(app.dataset.basemapUrl, { maxZoom: 20, maxNativeZoom: 20, attribution: "离线底图" }).addTo(map);
  const b = start.bbox;
  map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: 16 });
  let pin = null;
  let point = null;            // {lon, lat, crs}
  let addressTouched = false;  // the reporter typed an address: do not overwrite it
  let locateSeq = 0;

  function placePin(latlng, crs) {
    point = { lon: latlng.lng, lat: latlng.lat, crs: crs };
    if (!pin) {
      pin = L.marker(latlng, { draggable: true, autoPan: true, title: "问题位置" }).addTo(map);
      pin.on("dragend", () => placePin(pin.getLatLng(), "EPSG:4490"));
    } else {
      pin.setLatLng(latlng);
    }
    clearError("location");
    describePlace();
  }

  // The map is drawn from CGCS2000 data, so a tap is a CGCS2000 point.
  map.on("click", (e) => placePin(e.latlng, "EPSG:4490"));

  async function describePlace() {
    const seq = ++locateSeq;
    const info = $("place-info");
    info.innerHTML = '<span class="text-muted">正在查询位置…</span>';
    const q = new URLSearchParams({ lon: point.lon.toFixed(7), lat: point.lat.toFixed(7), crs: point.crs });
    try {
      const loc = await K.call("GET", "/api/geo/locate?" + q);
      if (seq !== locateSeq) { return; }
      const parts = [loc.street_name, loc.community_name].filter(Boolean).join(" · ") || "县域内";
      info.innerHTML = '<span class="badge text-bg-light border me-1">' + K.esc(parts) + "</span>" +
        (loc.grid_code ? '<span class="small text-muted">单元网格 ' + K.esc(loc.grid_code) + "</span>" : "") +
        '<span class="small text-muted ms-2 coords">' + loc.lon.toFixed(6) + ", " + loc.lat.toFixed(6) + "</span>";
      info.dataset.community = loc.community_code || "";
      if (!addressTouched) { prefillAddress(loc, parts, seq); }
    } catch (err) {
      if (seq !== locateSeq) { return; }
      info.innerHTML = "";
      showError("location", err.message);
    }
  }

  async function prefillAddress(loc, fallback, seq) {
    let text = fallback;
    try {
      const near = await K.call("GET", "/api/cases/nearby-address?" +
        new URLSearchParams({ lon: loc.lon.toFixed(7), lat: loc.lat.toFixed(7) }));
      if (near.address) { text = near.address + (near.distance_m > 20 ? "附近" : ""); }
    } catch (err) { /* the street/community names are still a useful address */ }
    if (seq === locateSeq && !addressTouched) { $("address").value = text; }
  }

  $("address").addEventListener("input", () => { addressTouched = $("address").value.trim() !== ""; clearError("address"); });

  $("btn-locate").addEventListener("click", () => {
    if (!navigator.geolocation) { showError("location", "此设备不支持定位，请在地图上点击标注位置"); return; }
    $("btn-locate").disabled = true;
    navigator.geolocation.getCurrentPosition((pos) => {
      $("btn-locate").disabled = false;
      const ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
      map.setView(ll, Math.max(map.getZoom(), 17));
      placePin(ll, "EPSG:4326");  // the browser answers in WGS84
    }, (err) => {
      $("btn-locate").disabled = false;
      showError("location", err.code === 1 ? "未获得定位权限，请在地图上点击标注位置" : "定位失败，请在地图上点击标注位置");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  });

  // -- classes --------------------------------------------------------------
  const kind = () => form.querySelector("input[name=kind]:checked").value;

  function fillBig(selectBig) {
    const big = $("big-class");
    big.innerHTML = classes[kind()].map((c) => '<option value="' + c.code + '">' + K.esc(c.code + " " + c.name) + "</option>").join("");
    if (selectBig) { big.value = selectBig; }
    fillSmall();
  }
  function fillSmall(selectSmall) {
    const big = classes[kind()].find((c) => c.code === $("big-class").value);
    $("small-class").innerHTML = '<option value="">请选择小类</option>' + (big ? big.children : []).map((c) =>
      '<option value="' + c.code + '">' + K.esc(c.name) + "</option>").join("");
    if (selectSmall) { $("small-class").value = selectSmall; }
    clearError("class");
  }
  form.querySelectorAll("input[name=kind]").forEach((r) => r.addEventListener("change", () => fillBig()));
  $("big-class").addEventListener("change", () => fillSmall());
  $("small-class").addEventListener("change", () => clearError("class"));

  // Search small classes of both kinds by name (or code).
  const hits = $("class-hits");
  $("class-search").addEventListener("input", () => {
    const q = $("class-search").value.trim();
    if (!q) { hits.hidden = true; return; }
    const found = [];
    Object.keys(classes).forEach((k) => classes[k].forEach((big) => big.children.forEach((c) => {
      if (c.name.includes(q) || c.code.startsWith(q) || big.name.includes(q)) { found.push({ kind: k, big: big, c: c }); }
    })));
    hits.innerHTML = found.slice(0, 12).map((f, i) =>
      '<button type="button" class="list-group-item list-group-item-action py-1" data-i="' + i + '">' +
      '<span class="badge text-bg-secondary me-1">' + (f.kind === "component" ? "部件" : "事件") + "</span>" +
      K.esc(f.c.name) + ' <span class="text-muted small">' + K.esc(f.big.name) + "</span></button>").join("") ||
      '<div class="list-group-item small text-muted">没有匹配的类别</div>';
    hits.hidden = false;
    hits.querySelectorAll("button").forEach((btn) => btn.addEventListener("click", () => {
      const f = found[Number(btn.dataset.i)];
      $("kind-" + f.kind).checked = true;
      fillBig(f.big.code);
      fillSmall(f.c.code);
      hits.hidden = true;
      $("class-search").value = "";
    }));
  });
  document.addEventListener("click", (e) => { if (!e.target.closest(".class-search")) { hits.hidden = true; } });

  // -- photos ---------------------------------------------------------------
  let files = [];
  $("photos").addEventListener("change", () => {
    const picked = Array.from($("photos").files);
    $("photos").value = "";
    clearError("media");
    picked.forEach((f) => { if (files.length < maxMedia) { files.push(f); } });
    if (files.length >= maxMedia && picked.length) { showError("media", "每次最多上传 " + maxMedia + " 张照片"); }
    drawPhotos();
  });
  function drawPhotos() {
    const grid = $("photo-grid");
    grid.querySelectorAll("img").forEach((img) => URL.revokeObjectURL(img.src));
    grid.innerHTML = "";
    files.forEach((f, i) => {
      const cell = document.createElement("div");
      cell.className = "photo-cell";
      const img = document.createElement("img");
      img.src = URL.createObjectURL(f);
      img.alt = f.name;
      const del = document.createElement("button");
      del.type = "button";
      del.className = "btn btn-sm btn-dark photo-del";
      del.title = "移除";
      del.textContent = "×";
      del.addEventListener("click", () => { files.splice(i, 1); clearError("media"); drawPhotos(); });
      cell.append(img, del);
      grid.appendChild(cell);
    });
  }

  // -- errors ---------------------------------------------------------------
  function showError(field, message) {
    const fb = form.querySelector('[data-error-for="' + field + '"]');
    if (!fb) { $("form-error").textContent = message; $("form-error").classList.remove("d-none"); return; }
    fb.textContent = message;
    fb.classList.add("d-block");
    const input = INPUT_OF[field] && $(INPUT_OF[field]);
    if (input) { input.classList.add("is-invalid"); }
    if (field === "location") { $("report-map").classList.add("is-invalid"); }
    fb.scrollIntoView({ block: "center", behavior: "smooth" });
  }
  function clearError(field) {
    const fb = form.querySelector('[data-error-for="' + field + '"]');
    if (fb) { fb.textContent = ""; fb.classList.remove("d-block"); }
    const input = INPUT_OF[field] && $(INPUT_OF[field]);
    if (input) { input.classList.remove("is-invalid"); }
    if (field === "location") { $("report-map").classList.remove("is-invalid"); }
  }
  function clearAll() {
    ["source", "class", "description", "address", "location", "media"].forEach(clearError);
    $("form-error").classList.add("d-none");
  }
  $("description").addEventListener("input", () => clearError("description"));

  function fieldOf(err) {
    const code = (err.data && err.data.error && err.data.error.code) || "";
    const details = (err.data && err.data.error && err.data.error.details) || {};
    if (code === "field_missing" && details.fields && details.fields.length) {
      const f = details.fields[0];
      return f === "class_code" || f === "kind" ? "class" : f;
    }
    const hit = FIELD_OF.find(([re]) => re.test(code));
    return hit ? hit[1] : null;
  }

  // -- submit ---------------------------------------------------------------
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearAll();
    const body = {
      source: $("source").value, kind: kind(), class_code: $("small-class").value,
      description: $("description").value.trim(), urgent: $("urgent").checked
    };
    if ($("address").value.trim()) { body.address = $("address").value.trim(); }
    // What the reporter can fix at once is said here; everything else is the server's word.
    if (!body.class_code) { showError("class", "请选择问题小类"); return; }
    if (!point) { showError("location", "请在地图上点击标注问题位置"); return; }
    if (body.description.length < 2) { showError("description", "请填写问题描述（至少2个字）"); return; }
    body.location = { lon: Number(point.lon.toFixed(8)), lat: Number(point.lat.toFixed(8)), crs: point.crs };
    const fd = new FormData();
    fd.append("report", JSON.stringify(body));
    files.forEach((f) => fd.append("media", f, f.name));
    const btn = $("btn-submit");
    btn.disabled = true;
    btn.textContent = "正在上报…";
    try {
      const c = await K.call("POST", "/api/cases", fd, true);
      done(c);
    } catch (err) {
      const field = fieldOf(err);
      if (field) { showError(field, err.message); } else { showError("form", err.message); }
    } finally {
      btn.disabled = false;
      btn.textContent = "上报";
    }
  });

  function done(c) {
    $("done-case-no").textContent = c.case_no;
    $("done-stage").textContent = c.class_name + "（" + c.kind_name + "） · 当前环节：" + (c.stage_name || c.status_name);
    $("done-component").textContent = c.component_code ?
      "就近部件：" + c.component_code + "（距上报位置 " + c.component_distance_m + " 米）" : "";
    const dup = $("done-duplicate");
    dup.classList.toggle("d-none", !c.duplicate_of);
    dup.textContent = c.duplicate_of ? "疑似重复：附近已有同类未结案卷 " + (c.duplicate_case_no || c.duplicate_of) + "，受理员将核对。" : "";
    $("done-link").href = "/cases/" + c.id;
    $("report-done").classList.remove("d-none");
    form.classList.add("d-none");
    window.scrollTo(0, 0);
  }

  $("btn-again").addEventListener("click", () => {
    files = [];
    drawPhotos();
    $("description").value = "";
    $("address").value = "";
    $("urgent").checked = false;
    addressTouched = false;
    if (pin) { map.removeLayer(pin); pin = null; point = null; }
    $("place-info").innerHTML = '<span class="text-muted">点击地图标注问题位置，可拖动图钉调整。</span>';
    $("report-done").classList.add("d-none");
    form.classList.remove("d-none");
    map.invalidateSize();
  });

  fillBig();
  window.caseReport = { map: map };  // for the browser tests and the console
})();
