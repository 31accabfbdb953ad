/* 行政区划管理 (R90): the region tree beside a Leaflet map.
 *
 * Clicking a node zooms the map to it, fills it, outlines its siblings and
 * draws its children. With admin:region:edit, "编辑边界" makes the selected
 * boundary editable with Leaflet-Geoman (drag / add / remove vertices);
 * clicking a sibling or a child adds it to the same edit, so a shared border
 * moves in one request that the server validates as a whole. Refusals come
 * back with the offending areas, which are drawn in red.
 */
(function () {
  'use strict';

  var app = document.getElementById('region-app');
  var el = document.getElementById('region-map');
  if (!app || !el || !window.L) { return; }
  var API = app.dataset.api;
  var canEdit = app.dataset.canEdit === '1';
  var tokenInput = document.querySelector('input[name="csrf_token"]');
  var $ = function (id) { return document.getElementById(id); };

  var STYLE = {
    selected: { color: '#e8590c', weight: 3, fillColor: '#fd7e14', fillOpacity: 0.22 },
    editing: { color: '#c92a2a', weight: 3, fillColor: '#ff8787', fillOpacity: 0.18 },
    sibling: { color: '#1c7ed6', weight: 2, dashArray: '6 4', fillOpacity: 0.03 },
    child: { color: '#868e96', weight: 1, fillOpacity: 0 },
    problem: { color: '#e03131', weight: 2, fillColor: '#e03131', fillOpacity: 0.45 }
  };

  function esc(v) {
    return String(v == null ? '' : v).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function fmt(n, digits) {
    return Number(n).toLocaleString('zh-CN', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function pending(delta) {
    el.dataset.pending = String(Math.max(0, Number(el.dataset.pending) + delta));
  }
  function call(path, opts) {
    opts = opts || {};
    pending(1);
    return fetch(API + path, {
      method: opts.method || 'GET', credentials: 'same-origin', body: opts.body,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json',
                 'X-CSRFToken': tokenInput ? tokenInput.value : '' }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) {
          var e = new Error(body.error ? body.error.message : '请求失败（' + r.status + '）');
          e.status = r.status;
          e.details = body.error && body.error.details;
          throw e;
        }
        return body;
      });
    }).finally(function () { pending(-1); });
  }

  // -- map ------------------------------------------------------------------
  var map = L.map(el, { zoomControl: false, minZoom: 8, maxZoom: 20 });
  map.attributionControl.setPrefix('Leaflet');
  L.control.zoom({ position: 'topright', zoomInTitle: '放大', zoomOutTitle: '缩小' }).addTo(map);
  L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(map);
  L.tileLayer(el.dataset.basemapUrl, { maxZoom: 20, attribution: '离线底图 © 西平县城市运行管理服务平台' }).addTo(map);
  map.setView([33.38, 114.01], 12);
  // Drawing order, bottom to top: children lie inside the selected region (and inside
  // neighbours added to an edit), so they go on top to stay clickable.
  var layers = {
    siblings: L.featureGroup().addTo(map),
    selected: L.featureGroup().addTo(map),
    children: L.featureGroup().addTo(map),
    problems: L.featureGroup().addTo(map)
  };
  function restack() {
    layers.selected.bringToFront();
    layers.children.bringToFront();
    layers.problems.bringToFront();
  }
  if (canEdit && map.pm) {
    map.pm.setGlobalOptions({ snappable: true, snapDistance: 12, removeVertexOn: 'contextmenu' });
    try { map.pm.setLang('zh'); } catch (e) { /* language pack optional */ }
  }

  var state = { nodes: {}, selected: null, detail: null, editing: null, siblings: {}, children: {} };

  function msg(text, kind, items) {
    var box = $('region-msg');
    if (!text) { box.innerHTML = ''; return; }
    var list = (items || []).length > 1 ? '<ul>' + items.map(function (p) {
      return '<li>' + esc(p.message) + '</li>';
    }).join('') + '</ul>' : '';
    box.innerHTML = '<div class="alert alert-' + (kind || 'success') + ' py-2 mb-0" role="alert">' + esc(text) + list + '</div>';
  }

  function polygonLayer(feature, style, label) {
    var layer = L.geoJSON(feature, { style: function () { return style; } }).getLayers()[0];
    if (label) { layer.bindTooltip(label, { sticky: true, className: 'region-label' }); }
    return layer;
  }

  // -- tree -----------------------------------------------------------------
  function countsText(n) {
    var c = n.counts || {}, parts = [];
    if (c.street) { parts.push(c.street + ' 个街道'); }
    if (c.community) { parts.push(c.community + ' 个社区'); }
    if (c.grid) { parts.push(c.grid + ' 个单元网格'); }
    return parts.join('，') || '无';
  }

  // A unit grid's name repeats its street and community, which the tree already shows.
  function shortName(n) {
    return n.level === 'grid' ? n.name.replace(/^.*(第\d+网格)$/, '$1') : n.name;
  }

  function nodeHtml(n) {
    state.nodes[n.code] = n;
    var lazy = n.level === 'community' && n.counts && n.counts.grid > 0;
    var has = (n.children && n.children.length) || lazy;
    var collapsed = n.level !== 'county';
    var badge = n.level === 'grid' ? '' : '<span class="badge rounded-pill bg-light text-secondary border ms-1" title="下级数量">' +
      (n.level === 'community' ? n.counts.grid : n.children.length) + '</span>';
    return '<li class="' + (has && collapsed ? 'collapsed' : '') + '" data-code="' + esc(n.code) + '"' +
      (lazy ? ' data-lazy="1"' : '') + '>' +
      '<div class="node" data-code="' + esc(n.code) + '" data-level="' + n.level + '">' +
      '<span class="toggle">' + (has ? (collapsed ? '▶' : '▼') : '·') + '</span>' +
      '<span class="name me-1" title="' + esc(n.name + ' ' + n.code) + '">' + esc(shortName(n)) + '</span>' +
      '<span class="code text-muted me-auto">' + esc(n.level === 'grid' ? '…' + n.code.slice(-6) : n.code) +
      '</span>' + badge + '</div>' +
      (n.children && n.children.length ? '<ul>' + n.children.map(nodeHtml).join('') + '</ul>' : '') + '</li>';
  }

  function loadTree() {
    return call('').then(function (d) {
      state.nodes = {};
      $('region-tree').innerHTML = '<ul>' + d.tree.map(nodeHtml).join('') + '</ul>';
      $('region-count').textContent = '共 ' + d.count + ' 个行政区划，' + (d.tree[0] ? d.tree[0].counts.grid : 0) + ' 个单元网格';
    }).catch(function (e) { msg(e.message, 'danger'); });
  }

  function expand(li) {
    li.classList.remove('collapsed');
    li.querySelector(':scope > .node .toggle').textContent = '▼';
    if (li.dataset.lazy === '1' && !li.querySelector(':scope > ul')) {
      li.dataset.lazy = 'loading';
      return call('/' + encodeURIComponent(li.dataset.code) + '/children').then(function (d) {
        li.insertAdjacentHTML('beforeend', '<ul>' + d.items.map(nodeHtml).join('') + '</ul>');
        li.dataset.lazy = 'done';
      });
    }
    return Promise.resolve();
  }

  $('region-tree').addEventListener('click', function (ev) {
    var node = ev.target.closest('.node');
    if (!node) { return; }
    var li = node.parentElement;
    if (ev.target.classList.contains('toggle')) {
      if (li.classList.contains('collapsed')) { expand(li); } else if (li.querySelector(':scope > ul')) {
        li.classList.add('collapsed');
        ev.target.textContent = '▶';
      }
      return;
    }
    if (state.editing) { msg('请先保存或取消当前的边界编辑', 'warning'); return; }
    select(node.dataset.code);
  });

  // -- selection ------------------------------------------------------------
  function showInfo(d) {
    $('region-title').textContent = d.name + '（' + d.level_name + '）';
    $('map-title').textContent = d.name + ' ' + d.code;
    $('i-code').textContent = d.code;
    $('i-name').textContent = d.name;
    $('i-level').textContent = d.level_name;
    $('i-parent').textContent = d.parent_code ? d.parent_name + '（' + d.parent_code + '）' : '无';
    $('i-area').textContent = fmt(d.area_km2, 4) + ' 平方千米（' + fmt(d.area_m2, 0) + ' 平方米）';
    $('i-counts').textContent = countsText(d);
    $('i-version').textContent = d.version;
    if (canEdit) {
      $('rename-input').value = d.name;
      $('rename-input').disabled = $('btn-rename').disabled = false;
      $('btn-edit').disabled = !d.editable;
      $('btn-edit').title = d.editable ? '' : '县域边界不能在此修改';
    }
  }

  function drawGroup(group, index, fc, style, skip, append) {
    if (!append) {
      group.clearLayers();
      Object.keys(index).forEach(function (k) { delete index[k]; });
    }
    fc.features.forEach(function (f) {
      if (f.id === skip || index[f.id]) { return; }
      var layer = polygonLayer(f, style, f.properties.name);
      layer.regionCode = f.id;
      layer.regionVersion = f.properties.version;
      layer.regionName = f.properties.name;
      layer.baseStyle = style;
      layer.on('click', function () { onMapClick(layer); });
      index[f.id] = layer;
      group.addLayer(layer);
    });
  }

  function select(code) {
    state.selected = code;
    el.dataset.selected = code;
    el.dataset.ready = '0';
    layers.problems.clearLayers();
    document.querySelectorAll('#region-tree .node').forEach(function (n) {
      n.classList.toggle('active', n.dataset.code === code);
    });
    return call('/' + encodeURIComponent(code)).then(function (d) {
      state.detail = d;
      showInfo(d);
      layers.selected.clearLayers();
      var layer = polygonLayer({ type: 'Feature', id: d.code, geometry: d.geometry, properties: d }, STYLE.selected);
      layer.regionCode = d.code; layer.regionVersion = d.version; layer.regionName = d.name;
      layer.baseStyle = STYLE.selected;
      layers.selected.addLayer(layer);
      state.selectedLayer = layer;
      map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: 19, animate: false });
      var jobs = [];
      jobs.push(d.parent_code ? call('/' + encodeURIComponent(d.parent_code) + '/features').then(function (fc) {
        drawGroup(layers.siblings, state.siblings, fc, STYLE.sibling, d.code);
      }) : Promise.resolve(layers.siblings.clearLayers()));
      jobs.push(d.level !== 'grid' ? call('/' + encodeURIComponent(d.code) + '/features').then(function (fc) {
        drawGroup(layers.children, state.children, fc, STYLE.child, null);
      }) : Promise.resolve(layers.children.clearLayers()));
      return Promise.all(jobs);
    }).then(function () {
      restack();
      el.dataset.ready = '1';
    }).catch(function (e) { msg(e.message, 'danger'); });
  }

  // -- editing ----------------------------------------------------------------
  function onMapClick(layer) {
    if (!state.editing) {
      if (layer.regionCode) { revealAndSelect(layer.regionCode); }
      return;
    }
    if (state.editing.indexOf(layer) >= 0) { return; }
    startEditing(layer);
    msg('已加入编辑：' + layer.regionName + '。保存时一并校验。', 'info');
    // A neighbour's own children (e.g. its unit grids along the border) may have to move too.
    if (state.siblings[layer.regionCode] && state.detail.level !== 'grid') {
      el.dataset.ready = '0';
      call('/' + encodeURIComponent(layer.regionCode) + '/features').then(function (fc) {
        drawGroup(layers.children, state.children, fc, STYLE.child, null, true);
        restack();
        el.dataset.ready = '1';
      });
    }
  }

  function revealAndSelect(code) {
    var n = state.nodes[code];
    while (n && n.parent_code) {
      var li = document.querySelector('#region-tree li[data-code="' + n.parent_code + '"]');
      if (li) { li.classList.remove('collapsed'); }
      n = state.nodes[n.parent_code];
    }
    select(code);
  }

  function startEditing(layer) {
    state.editing.push(layer);
    layer.setStyle(STYLE.editing);
    layer.pm.enable({ allowSelfIntersection: true, snappable: true, snapDistance: 12, draggable: false,
                     removeVertexOn: 'contextmenu' });
    $('map-title').textContent = '正在编辑：' + state.editing.map(function (l) { return l.regionName; }).join('、');
  }

  function setEditing(on) {
    el.dataset.editing = on ? '1' : '0';
    $('btn-edit').classList.toggle('d-none', on);
    $('btn-save').classList.toggle('d-none', !on);
    $('btn-cancel').classList.toggle('d-none', !on);
    $('edit-hint').classList.toggle('d-none', !on);
    $('rename-input').disabled = $('btn-rename').disabled = on;
  }

  function stopEditing() {
    (state.editing || []).forEach(function (l) { l.pm.disable(); l.setStyle(l.baseStyle); });
    state.editing = null;
    setEditing(false);
  }

  function drawProblems(problems) {
    layers.problems.clearLayers();
    (problems || []).forEach(function (p) {
      if (!p.geometry) { return; }
      var layer = L.geoJSON(p.geometry, { style: function () { return STYLE.problem; } });
      layer.bindTooltip(p.message, { sticky: true });
      layers.problems.addLayer(layer);
    });
    restack();
    el.dataset.problems = String(layers.problems.getLayers().length);
  }

  if (canEdit) {
    $('btn-edit').addEventListener('click', function () {
      if (!state.selectedLayer || !state.detail.editable) { return; }
      msg('');
      layers.problems.clearLayers();
      state.editing = [];
      setEditing(true);
      startEditing(state.selectedLayer);
    });
    $('btn-cancel').addEventListener('click', function () {
      stopEditing();
      msg('已取消编辑，边界未修改', 'secondary');
      select(state.selected);
    });
    $('btn-save').addEventListener('click', function () {
      var items = state.editing.map(function (l) {
        return { code: l.regionCode, version: l.regionVersion, geometry: l.toGeoJSON(false).geometry };
      });
      var req = items.length === 1
        ? call('/' + encodeURIComponent(items[0].code), { method: 'PUT',
            body: JSON.stringify({ geometry: items[0].geometry, version: items[0].version }) })
        : call('', { method: 'PUT', body: JSON.stringify({ regions: items }) });
      $('btn-save').disabled = true;
      req.then(function () {
        var names = state.editing.map(function (l) { return l.regionName; }).join('、');
        stopEditing();
        return loadTree().then(function () { return revealAndSelect(state.selected); })
          .then(function () { msg('已保存边界：' + names, 'success'); });
      }).catch(function (e) {
        var problems = e.details && e.details.problems;
        drawProblems(problems);
        msg('保存失败：' + e.message, 'danger', problems);
        el.dataset.refused = e.details && problems ? problems[0].code : String(e.status || '');
      }).finally(function () { $('btn-save').disabled = false; });
    });
    $('rename-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var name = $('rename-input').value.trim();
      if (!name) { msg('请填写名称', 'danger'); return; }
      call('/' + encodeURIComponent(state.selected), { method: 'PATCH',
        body: JSON.stringify({ name: name, version: state.detail.version }) })
        .then(function (d) {
          return loadTree().then(function () { return revealAndSelect(d.code); })
            .then(function () { msg('已更名为“' + d.name + '”', 'success'); });
        }).catch(function (e) { msg(e.message, 'danger'); });
    });
  }

  // Exposed for the browser tests and for debugging in the console.
  window.regionsApp = {
    map: map,
    editing: function () { return (state.editing || []).map(function (l) { return l.regionCode; }); },
    layer: function (code) {
      if (state.selectedLayer && state.selectedLayer.regionCode === code) { return state.selectedLayer; }
      return state.siblings[code] || state.children[code] || null;
    }
  };

  loadTree().then(function () {
    var first = document.querySelector('#region-tree .node');
    if (first) { return select(first.dataset.code); }
  });
})();
