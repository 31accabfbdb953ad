/* 综合地图: the map-first home page.
 *
 * Layers come from the OGC API (/ogc/collections) and their style, legend,
 * group and loading rule from /api/map/layers. Small layers are loaded whole
 * as GeoJSON; large ones only for the current view (bbox in CRS84 lon/lat)
 * once the map is zoomed in far enough. Everything is drawn on one canvas
 * so clicks reach the top-most feature of any layer.
 */
(function () {
  'use strict';

  var el = document.getElementById('map');
  if (!el || !window.L) { return; }
  var cfg = el.dataset;

  var COUNTY_BOUNDS = L.latLngBounds([33.15, 113.70], [33.60, 114.30]);
  var DEBOUNCE_MS = 250;

  // Attribute names of layers/*.yml → Chinese labels.
  var FIELD_LABELS = {
    id: '标识', code: '编码', name: '名称', class_code: '分类代码', status: '状态',
    owner_dept: '权属单位', maintainer_dept: '养护单位', grid_code: '所在网格', address: '地址',
    diameter_mm: '管径(mm)', material: '材质', pressure_class: '压力级别', depth_m: '埋深(m)',
    install_year: '建设年份', from_node: '起点', to_node: '终点', area_m2: '面积(m²)',
    land_use: '用地类型', mgmt_level: '管理级别', community_code: '所属社区', street_code: '所属街道',
    network: '管网类型', kind: '管点类型', road_code: '所在道路', road_name: '道路名称', number: '门牌号',
    full_address: '完整地址', category: '类别', level: '级别', parent_code: '上级区划',
    demo_code: '演示代码', grade: '道路等级', width_m: '宽度(m)', length_m: '长度(m)', spans: '跨数',
    build_year: '建成年份', river: '跨越河流', structure: '结构类型', description: '描述',
    dept_code: '责任部门', people: '责任人员'
  };
  var NETWORKS = { water: '供水', rain: '雨水', sewage: '污水', gas: '燃气', heating: '热力' };
  var REGION_LEVELS = { county: '县', street: '街道（乡镇）', community: '社区（村）' };
  var RISK_LEVELS = {
    1: ['重大风险', '#d7191c'], 2: ['较大风险', '#fd8d3c'], 3: ['一般风险', '#fecc5c'], 4: ['低风险', '#2c7bb6']
  };
  var DEPT_FIELDS = { owner_dept: 1, maintainer_dept: 1, dept_code: 1 };
  var REGION_FIELDS = { community_code: 1, street_code: 1, parent_code: 1 };
  var NO_HOVER = { county: 1, streets: 1, communities: 1 };

  var state = {
    overlays: [], byId: {}, groups: [], lookups: {}, pending: 0, interacted: false,
    searchCtrl: null, highlight: null, base: null, refreshScheduled: false
  };

  // -- helpers --------------------------------------------------------------
  function esc(v) {
    return String(v).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function debounce(fn, ms) {
    var t = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }
  function fmtNumber(n) { return Number(n).toLocaleString('zh-CN'); }
  function getJSON(url, signal) {
    return fetch(url, { credentials: 'same-origin', signal: signal, headers: { Accept: 'application/json' } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (!r.ok) {
            var msg = (body && body.error && body.error.message) || (body && body.description) || ('HTTP ' + r.status);
            var err = new Error(msg);
            err.status = r.status;
            throw err;
          }
          return body;
        });
      });
  }
  function geomRank(g) { return /Polygon/.test(g) ? 0 : (/LineString/.test(g) ? 1 : 2); }
  function lookupName(kind, code) {
    var table = state.lookups[kind] || {};
    return table[code];
  }

  // -- map --------------------------------------------------------------------
  // One canvas for every overlay; `tolerance` makes thin lines easy to click.
  var renderer = L.canvas({ padding: 0.3, tolerance: 5 });
  var map = L.map(el, { preferCanvas: true, renderer: renderer, zoomControl: false, minZoom: 8, maxZoom: 20 });
  map.attributionControl.setPrefix('Leaflet');
  L.control.zoom({ position: 'topright', zoomInTitle: '放大', zoomOutTitle: '缩小' }).addTo(map);
  L.control.scale({ imperial: false, position: 'bottomleft', maxWidth: 120 }).addTo(map);
  map.createPane('highlight');
  map.getPane('highlight').style.zIndex = 620;
  map.getPane('highlight').style.pointerEvents = 'none';
  var hlRenderer = L.svg({ pane: 'highlight', padding: 0.5 });

  var initial = parseHash();
  // Without a #zoom/lat/lon hash the view is set once the catalogue says where the town is.
  if (initial) { map.setView(initial.center, initial.zoom); state.interacted = true; }

  // Base maps: the enabled map sources (admin: 地图源配置), the default one
  // first; our own offline tiles when none is configured. Tianditu from the
  // CITYOPS_TIANDITU_KEY environment variable is still honoured.
  var sources = [];
  try { sources = JSON.parse((document.getElementById('map-sources') || {}).textContent || '[]'); } catch (e) { sources = []; }
  function tileLayer(t) {
    var opts = { minZoom: t.minZoom || 0, maxZoom: 20, maxNativeZoom: Math.min(t.maxNativeZoom || t.maxZoom || 18, 20),
                 attribution: t.attribution || '' };
    if (t.subdomains) { opts.subdomains = t.subdomains; }
    if (t.type === 'wms') {
      return L.tileLayer.wms(t.url, L.extend(opts, { layers: t.layers, format: t.format || 'image/png', transparent: false }));
    }
    return L.tileLayer(t.url, opts);
  }
  var bases = {
    offline: L.tileLayer(cfg.basemapUrl, {
      maxZoom: 20, maxNativeZoom: 20, attribution: '离线底图 © 西平县城市运行管理服务平台'
    }),
    none: L.layerGroup()
  };
  var defaultBase = 'offline';
  sources.forEach(function (src) {
    if (src.kind !== 'offline') { bases[src.value] = L.layerGroup((src.tiles || []).map(tileLayer)); }
    if (src.is_default) { defaultBase = src.value; }
  });
  if (cfg.tiandituKey) {
    // Tianditu WMTS, Web Mercator matrix set (_w), see ../shared/domain/standards.md §9:
    // http(s)://t{0-7}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0
    //   &LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY
    var tdt = function (layer) {
      return L.tileLayer('https://t{s}.tianditu.gov.cn/' + layer + '_w/wmts?SERVICE=WMTS&REQUEST=GetTile' +
        '&VERSION=1.0.0&LAYER=' + layer + '&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles' +
        '&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=' + encodeURIComponent(cfg.tiandituKey),
      { subdomains: '01234567', maxZoom: 20, maxNativeZoom: 18, attribution: '天地图 © 国家地理信息公共服务平台' });
    };
    bases.tianditu = L.layerGroup([tdt('vec'), tdt('cva')]);
  }
  function setBase(name) {
    if (state.base) { map.removeLayer(state.base); }
    state.base = bases[name] || bases.offline;
    state.base.addTo(map);
    el.dataset.basemap = name;
  }
  setBase(defaultBase);
  document.querySelectorAll('#basemap-switcher input[name=basemap]').forEach(function (input) {
    input.addEventListener('change', function () { if (input.checked) { setBase(input.value); } });
  });

  // Status bar: pointer position and zoom level.
  var StatusControl = L.Control.extend({
    options: { position: 'bottomleft' },
    onAdd: function () {
      var div = L.DomUtil.create('div', 'map-status');
      div.id = 'map-status';
      return div;
    }
  });
  var statusCtl = new StatusControl().addTo(map);
  var lastPointer = null;
  function renderStatus() {
    if (!map._loaded) { return; }
    var p = lastPointer || map.getCenter();
    statusCtl.getContainer().textContent = '经度 ' + p.lng.toFixed(5) + '°  纬度 ' + p.lat.toFixed(5) +
      '°  ·  第 ' + map.getZoom() + ' 级';
  }
  map.on('mousemove', function (e) { lastPointer = e.latlng; renderStatus(); });
  map.on('mouseout', function () { lastPointer = null; renderStatus(); });
  map.on('zoomend moveend', renderStatus);
  renderStatus();

  // Legend.
  var LegendControl = L.Control.extend({
    options: { position: 'bottomright' },
    onAdd: function () {
      var div = L.DomUtil.create('div', 'map-legend');
      div.id = 'map-legend';
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    }
  });
  var legendCtl = new LegendControl().addTo(map);

  ['mousedown', 'wheel', 'touchstart', 'keydown'].forEach(function (ev) {
    el.addEventListener(ev, function () { state.interacted = true; }, { passive: true });
  });

  // -- styles -----------------------------------------------------------------
  function pathStyle(def) {
    var s = def.style || {};
    var poly = geomRank(def.geometry) === 0;
    return {
      renderer: renderer, color: s.color || '#3388ff', weight: s.weight != null ? s.weight : 2,
      opacity: s.opacity != null ? s.opacity : 0.9, dashArray: s.dashArray || null,
      fill: poly ? s.fill !== false : false, fillColor: s.fillColor || s.color || '#3388ff',
      fillOpacity: s.fillOpacity != null ? s.fillOpacity : 0.1, lineCap: 'round', lineJoin: 'round'
    };
  }
  function pointStyle(def, feature) {
    var s = def.style || {};
    var colour = s.color || '#3388ff';
    if (def.id === 'risk-points' && feature && RISK_LEVELS[feature.properties.level]) {
      colour = RISK_LEVELS[feature.properties.level][1];
    }
    return {
      renderer: renderer, radius: s.radius || 4, color: '#ffffff', weight: 1, opacity: 1,
      fillColor: colour, fillOpacity: 0.92
    };
  }
  function swatch(def, colour) {
    var s = def.style || {};
    var c = colour || s.color || '#3388ff';
    var rank = geomRank(def.geometry);
    if (rank === 2) {
      return '<span class="sw sw-point" style="background:' + esc(c) + '"></span>';
    }
    if (rank === 1) {
      return '<span class="sw sw-line" style="border-top-color:' + esc(c) + ';border-top-width:' +
        Math.min(Math.max(s.weight || 2, 2), 5) + 'px"></span>';
    }
    var fill = s.fill === false ? 'transparent' : c;
    var alpha = s.fill === false ? 0 : Math.min(Math.max((s.fillOpacity || 0.1) * 4, 0.12), 0.4);
    return '<span class="sw sw-poly" style="border-color:' + esc(c) + ';border-style:' +
      (s.dashArray ? 'dashed' : 'solid') + '"><i style="background:' + esc(fill) + ';opacity:' + alpha +
      '"></i></span>';
  }

  // -- popups -----------------------------------------------------------------
  function formatValue(key, value, def) {
    if (value === null || value === undefined || value === '') { return '<span class="text-muted">—</span>'; }
    if (typeof value === 'boolean') { return value ? '是' : '否'; }
    if (Array.isArray(value)) {
      return esc(value.map(function (v) {
        if (v && typeof v === 'object') {
          return [v.role, v.name, v.phone].filter(Boolean).join(' ') || JSON.stringify(v);
        }
        return String(v);
      }).join('；'));
    }
    if (typeof value === 'object') { return esc(JSON.stringify(value)); }
    var name;
    if (DEPT_FIELDS[key] && (name = lookupName('department', value))) {
      return esc(name) + ' <span class="code">' + esc(value) + '</span>';
    }
    if (REGION_FIELDS[key] && (name = lookupName('region', value))) {
      return esc(name) + ' <span class="code">' + esc(value) + '</span>';
    }
    if (key === 'class_code' && (name = lookupName('component_class', value))) {
      return esc(name) + ' <span class="code">' + esc(value) + '</span>';
    }
    if (key === 'network' && NETWORKS[value]) { return esc(NETWORKS[value]); }
    if (key === 'level' && def.id === 'risk-points' && RISK_LEVELS[value]) {
      return '<span class="risk-dot" style="background:' + RISK_LEVELS[value][1] + '"></span>' +
        esc(value + ' 级 · ' + RISK_LEVELS[value][0]);
    }
    if (key === 'level' && REGION_LEVELS[value]) { return esc(REGION_LEVELS[value]); }
    if (key === 'area_m2' || key === 'length_m' || key === 'width_m') {
      return esc(Number(value).toLocaleString('zh-CN', { maximumFractionDigits: 1 }));
    }
    if (key === 'install_year' || key === 'build_year') { return esc(value); }
    if (typeof value === 'number') { return esc(value.toLocaleString('zh-CN', { maximumFractionDigits: 3 })); }
    return esc(value);
  }
  function popupHtml(def, feature) {
    var p = feature.properties || {};
    var title = (def.title_field && p[def.title_field]) || p.name || feature.id;
    var keys = def.fields && def.fields.length ? def.fields : Object.keys(p);
    var rows = keys.map(function (k) {
      var label = (def.field_titles && def.field_titles[k]) || FIELD_LABELS[k] || k;
      return '<tr><th>' + esc(label) + '</th><td data-field="' + esc(k) + '">' +
        formatValue(k, p[k], def) + '</td></tr>';
    }).join('');
    var detail = cfg.ogcUrl + '/collections/' + encodeURIComponent(def.id) + '/items/' +
      encodeURIComponent(feature.id) + '?f=html';
    return '<div class="feature-popup" data-layer="' + esc(def.id) + '">' +
      '<div class="fp-head">' + swatch(def) + '<span class="fp-layer">' + esc(def.title_zh) + '</span></div>' +
      '<div class="fp-title">' + esc(title) + '</div>' +
      '<div class="fp-body"><table class="fp-table">' + rows + '</table></div>' +
      '<div class="fp-foot"><a href="' + esc(detail) + '" target="_blank" rel="noopener">在 OGC API 中查看 ›</a></div>' +
      '</div>';
  }
  function openPopup(def, feature, latlng) {
    L.popup({ maxWidth: 380, minWidth: 260, autoPanPaddingTopLeft: [20, 20], className: 'cityops-popup' })
      .setLatLng(latlng).setContent(popupHtml(def, feature)).openOn(map);
  }

  // -- overlays ---------------------------------------------------------------
  function makeOverlay(def) {
    var o = {
      def: def, id: def.id, visible: false, status: 'idle', count: 0, truncated: false,
      loadedBounds: null, ctrl: null, seq: 0, message: ''
    };
    var base = pathStyle(def);
    o.group = L.geoJSON(null, {
      renderer: renderer,
      style: function (f) { return /Point/.test(f.geometry.type) ? pointStyle(def, f) : base; },
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, pointStyle(def, f)); },
      onEachFeature: function (f, layer) {
        layer.on('click', function (e) {
          L.DomEvent.stop(e);
          openPopup(def, f, e.latlng);
        });
        if (!NO_HOVER[def.id]) {
          layer.on('mouseover', function () {
            if (layer.setStyle) {
              layer.setStyle(geomRank(def.geometry) === 2 ? { weight: 3, color: '#ffd43b' }
                : { weight: (base.weight || 1) + 2.5, opacity: 1 });
            }
          });
          layer.on('mouseout', function () {
            if (layer.setStyle) { layer.setStyle(geomRank(def.geometry) === 2 ? pointStyle(def, f) : base); }
          });
        }
      }
    });
    return o;
  }

  function itemsUrl(def, params) {
    var q = ['f=json'];
    Object.keys(params).forEach(function (k) { q.push(k + '=' + encodeURIComponent(params[k])); });
    return cfg.ogcUrl + '/collections/' + encodeURIComponent(def.id) + '/items?' + q.join('&');
  }

  // data-pending counts running requests plus a view refresh still waiting for
  // its debounce, so "0" means the map has settled (tests wait for it).
  function setPending(delta) {
    state.pending = Math.max(0, state.pending + delta);
    el.dataset.pending = String(state.pending + (state.refreshScheduled ? 1 : 0));
    var busy = document.getElementById('map-busy');
    busy.hidden = state.pending === 0;
    document.getElementById('map-busy-text').textContent = '正在加载 ' + state.pending + ' 个图层…';
  }

  function abort(o) {
    if (o.ctrl) { o.ctrl.abort(); o.ctrl = null; }
  }

  function request(o, url, bounds) {
    abort(o);
    var ctrl = new AbortController();
    var seq = ++o.seq;
    o.ctrl = ctrl;
    o.status = 'loading';
    updateLayerUi(o);
    setPending(1);
    getJSON(url, ctrl.signal).then(function (fc) {
      if (seq !== o.seq || !o.visible) { return; }
      var features = fc.features || [];
      o.group.clearLayers();
      o.group.addData(features);
      o.count = features.length;
      o.loadedBounds = bounds;
      o.truncated = o.def.loading.mode === 'bbox' && features.length >= o.def.loading.limit;
      o.status = o.truncated ? 'truncated' : 'ok';
      restack();
    }).catch(function (err) {
      if (err.name === 'AbortError') { return; }
      if (seq !== o.seq) { return; }
      o.status = 'error';
      o.message = err.message || '加载失败';
    }).then(function () {
      if (o.ctrl === ctrl) { o.ctrl = null; }
      setPending(-1);
      updateLayerUi(o);
      updateLegend();
    });
  }

  function load(o) {
    if (!o.visible) { return; }
    var lo = o.def.loading;
    if (lo.mode === 'all') {
      if (o.status === 'ok' || o.status === 'loading') { return; }
      request(o, itemsUrl(o.def, { limit: lo.limit }), null);
      return;
    }
    if (map.getZoom() < lo.minzoom) {
      abort(o);
      o.seq++;
      o.group.clearLayers();
      o.count = 0;
      o.loadedBounds = null;
      o.status = 'zoom';
      updateLayerUi(o);
      return;
    }
    var view = map.getBounds();
    if (o.loadedBounds && !o.truncated && o.loadedBounds.contains(view) && o.status === 'ok') { return; }
    var b = view.pad(0.2);
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); });
    request(o, itemsUrl(o.def, { bbox: bbox.join(','), limit: lo.limit }), b);
  }

  function setVisible(o, visible) {
    o.visible = visible;
    if (visible) {
      map.addLayer(o.group);
      load(o);
    } else {
      abort(o);
      o.seq++;
      map.removeLayer(o.group);
      if (o.def.loading.mode === 'bbox') {
        o.group.clearLayers();
        o.count = 0;
        o.loadedBounds = null;
      }
      if (o.status === 'loading' || o.def.loading.mode === 'bbox') { o.status = 'idle'; }
    }
    document.querySelectorAll('input[data-layer="' + o.id + '"]').forEach(function (cb) { cb.checked = visible; });
    updateLayerUi(o);
    updateLegend();
    restack();
  }

  // One canvas draws every layer; keep polygons under lines under points, then by `order`.
  var restack = debounce(function () {
    state.overlays.filter(function (o) { return o.visible; }).sort(function (a, b) {
      return geomRank(a.def.geometry) - geomRank(b.def.geometry) || a.def.order - b.def.order;
    }).forEach(function (o) {
      o.group.eachLayer(function (l) { if (l.bringToFront) { l.bringToFront(); } });
    });
    updateCounts();
  }, 30);

  function updateCounts() {
    var total = 0;
    state.overlays.forEach(function (o) { if (o.visible) { total += o.count; } });
    el.dataset.features = String(total);
    var summary = document.getElementById('layer-summary');
    var shown = state.overlays.filter(function (o) { return o.visible; }).length;
    summary.textContent = '显示 ' + shown + ' 层 · ' + fmtNumber(total) + ' 个要素';
  }

  function statusText(o) {
    switch (o.status) {
      case 'loading': return '<span class="spinner spinner-sm" title="加载中"></span>';
      case 'zoom': return '<span class="badge-hint">放大后显示</span>';
      case 'error': return '<span class="badge-error" title="' + esc(o.message) + '">加载失败</span>';
      case 'truncated': return '<span class="badge-warn" title="当前视图内要素过多，仅显示前 ' +
        fmtNumber(o.count) + ' 个，请放大">' + fmtNumber(o.count) + '+</span>';
      case 'ok': return o.visible ? '<span class="badge-count">' + fmtNumber(o.count) + '</span>' : '';
      default: return '';
    }
  }

  function updateLayerUi(o) {
    var row = document.querySelector('.layer-row[data-layer="' + o.id + '"]');
    if (row) {
      row.dataset.status = o.status;
      row.dataset.count = String(o.visible ? o.count : 0);
      row.classList.toggle('is-on', o.visible);
      row.querySelector('.layer-status').innerHTML = o.visible ? statusText(o) : '';
    }
    updateCounts();
    updateLegendDebounced();
  }

  function updateLegend() {
    var div = legendCtl.getContainer();
    var visible = state.overlays.filter(function (o) { return o.visible; });
    if (!visible.length) { div.innerHTML = '<div class="legend-title">图例</div><div class="text-muted small">未选择图层</div>'; return; }
    var items = visible.map(function (o) {
      var hint = '';
      if (o.status === 'zoom') { hint = '<span class="legend-hint">放大后显示（第 ' + o.def.loading.minzoom + ' 级起）</span>'; }
      else if (o.status === 'truncated') { hint = '<span class="legend-hint">仅显示前 ' + fmtNumber(o.count) + ' 个，请放大</span>'; }
      else if (o.status === 'error') { hint = '<span class="legend-hint text-danger">加载失败</span>'; }
      var extra = '';
      if (o.id === 'risk-points') {
        extra = '<ul class="legend-sub">' + Object.keys(RISK_LEVELS).map(function (k) {
          return '<li>' + swatch(o.def, RISK_LEVELS[k][1]) + esc(k + ' 级 ' + RISK_LEVELS[k][0]) + '</li>';
        }).join('') + '</ul>';
      }
      return '<li data-layer="' + esc(o.id) + '" class="' + (o.status === 'zoom' ? 'is-dim' : '') + '">' +
        swatch(o.def) + '<span class="legend-label">' + esc(o.def.legend || o.def.title_zh) + '</span>' + hint + extra + '</li>';
    }).join('');
    div.innerHTML = '<div class="legend-title">图例</div><ul class="legend-list">' + items + '</ul>';
  }
  var updateLegendDebounced = debounce(updateLegend, 50);

  // -- layer switcher ---------------------------------------------------------
  function buildSwitcher() {
    var box = document.getElementById('layer-switcher');
    box.innerHTML = '';
    var groups = state.groups.slice();
    state.overlays.forEach(function (o) {
      var g = (o.def.maps && o.def.maps[0]) || '其他图层';
      if (groups.indexOf(g) < 0) { groups.push(g); }
    });
    groups.forEach(function (g, gi) {
      var members = state.overlays.filter(function (o) { return ((o.def.maps && o.def.maps[0]) || '其他图层') === g; });
      if (!members.length) { return; }
      var details = document.createElement('details');
      details.className = 'layer-group';
      details.open = true;
      details.dataset.group = g;
      var summary = document.createElement('summary');
      summary.innerHTML = '<span class="group-name">' + esc(g) + '</span>' +
        '<label class="group-all" title="全部显示/隐藏"><input type="checkbox" data-group-toggle="' + gi + '"> 全部</label>';
      details.appendChild(summary);
      var groupCb = summary.querySelector('input');
      groupCb.addEventListener('click', function (e) { e.stopPropagation(); });
      groupCb.addEventListener('change', function () {
        members.forEach(function (o) { if (o.visible !== groupCb.checked) { setVisible(o, groupCb.checked); } });
        syncGroupToggles();
      });
      members.forEach(function (o) {
        var row = document.createElement('label');
        row.className = 'layer-row';
        row.dataset.layer = o.id;
        var lo = o.def.loading;
        var tip = lo.mode === 'bbox' ? '按当前视图加载，第 ' + lo.minzoom + ' 级起显示' : '整层加载';
        row.title = o.def.title_zh + '（' + tip + '）';
        row.innerHTML = '<input type="checkbox" id="layer-toggle-' + esc(o.id) + '" data-layer="' + esc(o.id) + '">' +
          swatch(o.def) + '<span class="layer-name">' + esc(o.def.title_zh) + '</span>' +
          (o.def.access === 'public' ? '' : '<span class="layer-lock" title="内部数据">内</span>') +
          '<span class="layer-status"></span>';
        var cb = row.querySelector('input');
        cb.checked = o.visible;
        cb.addEventListener('change', function () { setVisible(o, cb.checked); syncGroupToggles(); });
        details.appendChild(row);
      });
      box.appendChild(details);
    });
    syncGroupToggles();
  }
  function syncGroupToggles() {
    document.querySelectorAll('details.layer-group').forEach(function (d) {
      var boxes = d.querySelectorAll('input[data-layer]');
      var on = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      var t = d.querySelector('input[data-group-toggle]');
      t.checked = on === boxes.length;
      t.indeterminate = on > 0 && on < boxes.length;
    });
  }

  // -- search -----------------------------------------------------------------
  var searchInput = document.getElementById('search-input');
  var searchBox = document.getElementById('search-results');

  function showResults(html) {
    searchBox.innerHTML = html;
    searchBox.hidden = !html;
  }

  function runSearch(q) {
    if (state.searchCtrl) { state.searchCtrl.abort(); }
    if (!q) { showResults(''); return; }
    var ctrl = new AbortController();
    state.searchCtrl = ctrl;
    showResults('<div class="sr-note"><span class="spinner spinner-sm"></span> 正在搜索…</div>');
    getJSON(cfg.searchUrl + '?q=' + encodeURIComponent(q), ctrl.signal).then(function (body) {
      var results = body.results || [];
      if (!results.length) {
        showResults('<div class="sr-note">未找到与“' + esc(q) + '”匹配的要素</div>');
        return;
      }
      var html = '<div class="sr-note">找到 ' + results.length + ' 个结果</div><ul class="sr-list">' +
        results.map(function (r, i) {
          var o = state.byId[r.collection];
          var layerName = o ? o.def.title_zh : r.collection;
          return '<li><button type="button" class="sr-item" data-index="' + i + '" data-id="' + esc(r.id) + '">' +
            '<span class="sr-name">' + esc(r.name || r.id) + '</span>' +
            '<span class="sr-meta"><span class="sr-layer">' + esc(layerName) + '</span> ' + esc(r.id) + '</span>' +
            '</button></li>';
        }).join('') + '</ul>';
      showResults(html);
      searchBox.querySelectorAll('.sr-item').forEach(function (btn) {
        btn.addEventListener('click', function () {
          searchBox.querySelectorAll('.sr-item.active').forEach(function (b) { b.classList.remove('active'); });
          btn.classList.add('active');
          goTo(results[Number(btn.dataset.index)]);
        });
      });
    }).catch(function (err) {
      if (err.name === 'AbortError') { return; }
      showResults('<div class="sr-note text-danger">' + esc(err.message || '搜索失败') + '</div>');
    });
  }

  function goTo(r) {
    state.interacted = true;
    var o = state.byId[r.collection];
    if (o && !o.visible) { setVisible(o, true); syncGroupToggles(); }
    var minzoom = o && o.def.loading.mode === 'bbox' ? o.def.loading.minzoom : 0;
    var b = r.bbox;
    var isPoint = !b || (Math.abs(b[2] - b[0]) < 1e-7 && Math.abs(b[3] - b[1]) < 1e-7);
    var anchor;
    if (isPoint) {
      map.setView([r.lat, r.lon], Math.max(18, minzoom));
      anchor = L.latLng(r.lat, r.lon);
    } else {
      var bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
      var z = Math.max(Math.min(map.getBoundsZoom(bounds.pad(0.8)), 17), minzoom);
      map.setView(bounds.getCenter(), z);
      anchor = L.latLng(b[3], (b[0] + b[2]) / 2);   // the popup sits above the outline, not on it
    }
    highlight(r, o, anchor);
  }

  function highlight(r, o, anchor) {
    if (state.highlight) { map.removeLayer(state.highlight); state.highlight = null; }
    el.dataset.highlight = r.id;
    var url = cfg.ogcUrl + '/collections/' + encodeURIComponent(r.collection) + '/items/' + encodeURIComponent(r.id) + '?f=json';
    getJSON(url).then(function (feature) {
      if (el.dataset.highlight !== r.id) { return; }
      state.highlight = L.geoJSON(feature, {
        renderer: hlRenderer, pane: 'highlight', interactive: false,
        style: function () {
          return { renderer: hlRenderer, pane: 'highlight', color: '#ff6b00', weight: 4, opacity: 1, fillColor: '#ffd43b',
            fillOpacity: 0.25, className: 'hl-shape', interactive: false };
        },
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { renderer: hlRenderer, pane: 'highlight', radius: 12, color: '#ff6b00',
            weight: 3, fillColor: '#ffd43b', fillOpacity: 0.35, className: 'hl-shape hl-point', interactive: false });
        }
      }).addTo(map);
      if (o) { openPopup(o.def, feature, anchor); }
    }).catch(function () { /* the zoom already happened; the outline is optional */ });
  }

  document.getElementById('map-search').addEventListener('submit', function (e) {
    e.preventDefault();
    runSearch(searchInput.value.trim());
  });
  searchInput.addEventListener('input', debounce(function () {
    var q = searchInput.value.trim();
    if (q.length >= 2 || !q) { runSearch(q); }
  }, 350));
  searchInput.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { searchInput.value = ''; runSearch(''); }
  });

  // -- view state in the URL hash (#zoom/lat/lon) -------------------------------
  function parseHash() {
    var m = /^#(\d{1,2})\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(window.location.hash);
    if (!m) { return null; }
    return { zoom: Number(m[1]), center: L.latLng(Number(m[2]), Number(m[3])) };
  }
  function writeHash() {
    var c = map.getCenter();
    var h = '#' + map.getZoom() + '/' + c.lat.toFixed(5) + '/' + c.lng.toFixed(5);
    if (window.location.hash !== h) { window.history.replaceState(null, '', h); }
  }

  // -- start ------------------------------------------------------------------
  var refreshView = debounce(function () {
    state.refreshScheduled = false;
    setPending(0);
    state.overlays.forEach(function (o) { if (o.visible && o.def.loading.mode === 'bbox') { load(o); } });
  }, DEBOUNCE_MS);
  map.on('moveend', function () {
    writeHash();
    // Hints for layers hidden by zoom update at once; requests wait for the map to settle.
    state.overlays.forEach(function (o) {
      if (o.visible && o.def.loading.mode === 'bbox' && map.getZoom() < o.def.loading.minzoom && o.status !== 'zoom') {
        load(o);
      }
    });
    state.refreshScheduled = true;
    setPending(0);
    refreshView();
  });

  Promise.all([getJSON(cfg.layersUrl), getJSON(cfg.collectionsUrl)]).then(function (res) {
    var catalogue = res[0], collections = res[1];
    var published = {};
    (collections.collections || []).forEach(function (c) { published[c.id] = c; });
    state.groups = catalogue.groups || [];
    if (!map._loaded) {
      var e = catalogue.extent;
      map.fitBounds(e ? L.latLngBounds([e[1], e[0]], [e[3], e[2]]) : COUNTY_BOUNDS, { padding: [10, 10], animate: false });
    }
    state.lookups = catalogue.lookups || {};
    (catalogue.layers || []).forEach(function (def) {
      if (!published[def.id]) { return; }
      var o = makeOverlay(def);
      state.overlays.push(o);
      state.byId[def.id] = o;
    });
    buildSwitcher();
    state.overlays.forEach(function (o) { if (o.def.visible) { setVisible(o, true); } });
    syncGroupToggles();
    updateLegend();
    el.dataset.ready = '1';
  }).catch(function (err) {
    if (!map._loaded) { map.fitBounds(COUNTY_BOUNDS); }
    document.getElementById('layer-switcher').innerHTML =
      '<div class="text-danger small py-2">图层目录读取失败：' + esc(err.message) + '</div>';
    el.dataset.ready = 'error';
  });

  // For tests and the browser console.
  window.cityMap = {
    map: map,
    overlay: function (id) { return state.byId[id]; },
    setVisible: function (id, v) { var o = state.byId[id]; if (o) { setVisible(o, v); syncGroupToggles(); } },
    count: function (id) { var o = state.byId[id]; return o ? o.count : 0; },
    pending: function () { return state.pending; }
  };
})();
