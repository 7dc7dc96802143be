// connlint report: the connection waterfall, drawn on a canvas from the
// data blob (#connlint-data). Only the rows in view are drawn, so the page
// stays responsive with 100 k lanes. Times are microseconds since each
// capture's first packet.
(function () {
  'use strict';
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById('connlint-data').textContent);
  var S = D.strings;
  var SEV = ['info', 'warning', 'error'];
  var C = {
    blocked: '#bdbdbd', connect: '#ff9800', send: '#7cb8dd', wait: '#5cb85c',
    receive: '#5b8fd9', idle: '#9e9e9e', retrans: '#d32f2f', gap: '#6a1b9a',
    fin: '#424242', rst: '#d32f2f', sev: ['#1e88e5', '#f9a825', '#d32f2f'],
    grid: '#eeeeee', text: '#212121', muted: '#757575', sel: 'rgba(33,150,243,0.12)',
    match: '#000000'
  };
  // A row: finding markers on top (0-10 px), the bars under them (10-20 px).
  var ROW = 24, BT = 10, BH = 10, LABEL = 320, AXIS = 22, PAD = 12;

  // ---- the model -------------------------------------------------------
  var lanes = D.lanes.map(function (a, i) {
    return {
      kind: 'lane', i: i, cap: a[0][0], id: a[0][1], client: S[a[0][2]], server: S[a[0][3]],
      gen: a[0][4], proto: a[0][5], start: a[1][0], end: a[1][1], synack: a[2][0], ack: a[2][1],
      close: a[3][0], closeTs: a[3][1], rstSide: a[3][2], tunnel: a[4] >= 0 ? S[a[4]] : null,
      marks: a[5], tx: a[7][0], firstFrame: a[7][1], lastFrame: a[7][2], findings: [],
      bars: a[6].map(function (b) {
        return { index: b[0], rs: b[1], re: b[2], ps: b[3], pe: b[4], status: b[5],
          method: S[b[6]], uri: S[b[7]], flags: b[8] };
      })
    };
  });
  var groups = D.groups.map(function (g, i) {
    return {
      kind: 'group', i: i, cap: g[0][0], client: S[g[0][1]], server: S[g[0][2]],
      connections: g[1][0], tx: g[1][1], start: g[2][0], end: g[2][1],
      histOrigin: g[3][0], histWidth: g[3][1], bins: g[3][2], phases: g[4],
      statuses: g[5], closes: g[6], retrans: g[7][0], gaps: g[7][1], findings: [], bars: []
    };
  });
  var findings = D.findings.map(function (f, i) {
    var x = { i: i, rule: D.rules[f[0]], sev: f[1], cap: f[2], conn: f[3], tx: f[4], ts: f[5],
      lane: f[6], group: f[7], message: f[8], evidence: f[9] || {} };
    var owner = x.lane >= 0 ? lanes[x.lane] : (x.group >= 0 ? groups[x.group] : null);
    if (owner) owner.findings.push(x);
    return x;
  });
  var docs = {};
  D.docs.forEach(function (d) { docs[d[0]] = d; });
  var totalBars = lanes.reduce(function (n, l) { return n + l.bars.length; }, 0);

  // Rows: per capture, a title row when there are several, its lanes by
  // start, then its grouped lanes.
  var allRows = [];
  D.captures.forEach(function (c, ci) {
    if (D.captures.length > 1) allRows.push({ kind: 'cap', cap: ci, findings: [], bars: [] });
    lanes.forEach(function (l) { if (l.cap === ci) allRows.push(l); });
    groups.forEach(function (g) { if (g.cap === ci) allRows.push(g); });
  });
  var span = 1;
  lanes.forEach(function (l) { span = Math.max(span, l.end); });
  groups.forEach(function (g) { span = Math.max(span, g.end); });
  D.captures.forEach(function (c) { span = Math.max(span, c[2]); });

  // ---- filters ---------------------------------------------------------
  var $ = function (id) { return document.getElementById(id); };
  function fill(sel, values) {
    values.forEach(function (v) {
      var o = document.createElement('option');
      o.value = v[0]; o.textContent = v[1]; sel.appendChild(o);
    });
  }
  var servers = {};
  lanes.concat(groups).forEach(function (r) { servers[r.server] = 1; });
  fill($('f-server'), Object.keys(servers).sort().map(function (s) { return [s, s]; }));
  var ruleSeen = {};
  findings.forEach(function (f) { ruleSeen[f.rule] = 1; });
  fill($('f-rule'), Object.keys(ruleSeen).sort().map(function (r) {
    return [r, r + (docs[r] ? ' ' + docs[r][1] : '')];
  }));

  var rows = allRows;
  var search = '';
  function matchesSearch(b) { return search && b.uri.toLowerCase().indexOf(search) >= 0; }
  function applyFilters() {
    var server = $('f-server').value, rule = $('f-rule').value;
    var sev = $('f-severity').value, status = $('f-status').value;
    search = $('f-search').value.trim().toLowerCase();
    rows = allRows.filter(function (r) {
      if (r.kind === 'cap') return true;
      if (server && r.server !== server) return false;
      if (rule && !r.findings.some(function (f) { return f.rule === rule; })) return false;
      if (sev !== '' && !r.findings.some(function (f) { return f.sev >= +sev; })) return false;
      if (status !== '') {
        var k = +status;
        if (r.kind === 'group') { if (!r.statuses[k]) return false; }
        else if (!r.bars.some(function (b) { return Math.min(5, Math.floor(b.status / 100)) === k; })) return false;
      }
      if (search && (r.kind !== 'lane' || !r.bars.some(matchesSearch))) return false;
      return true;
    });
    $('shown').textContent = rows.filter(function (r) { return r.kind !== 'cap'; }).length +
      ' of ' + (lanes.length + groups.length) + ' lanes';
    layout();
    draw();
  }
  ['f-server', 'f-rule', 'f-severity', 'f-status'].forEach(function (id) {
    $(id).addEventListener('change', applyFilters);
  });
  $('f-search').addEventListener('input', applyFilters);

  // ---- view ------------------------------------------------------------
  var scroller = $('scroller'), spacer = $('spacer'), canvas = $('waterfall');
  var ctx = canvas.getContext('2d');
  var view = { a: 0, b: span * 1.02 + 1 };
  var W = 0, H = 0, dpr = 1;
  function layout() {
    spacer.style.height = (rows.length * ROW + AXIS) + 'px';
    W = scroller.clientWidth; H = Math.min(scroller.clientHeight, rows.length * ROW + AXIS + 2);
    dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.floor(W * dpr)); canvas.height = Math.max(1, Math.floor(H * dpr));
    canvas.style.width = W + 'px'; canvas.style.height = H + 'px';
  }
  function x(t) { return LABEL + (t - view.a) / (view.b - view.a) * (W - LABEL - PAD); }
  function tAt(px) { return view.a + (px - LABEL) / (W - LABEL - PAD) * (view.b - view.a); }
  function fmt(us) {
    var a = Math.abs(us);
    if (a >= 1e6) return (us / 1e6).toFixed(a >= 1e7 ? 1 : 3) + ' s';
    if (a >= 1e3) return (us / 1e3).toFixed(a >= 1e4 ? 1 : 3) + ' ms';
    return us.toFixed(0) + ' µs';
  }
  function label(r) {
    if (r.kind === 'cap') return D.captures[r.cap][0];
    if (r.kind === 'group') return '⋯ ' + r.connections + ' grouped: ' + r.client + ' → ' + r.server;
    return '#' + r.id + ' ' + r.client + ' → ' + r.server + (r.gen ? ' gen ' + r.gen : '') +
      (r.proto && r.proto !== 'http1' ? ' ' + r.proto : '') +
      (r.tunnel ? ' [' + r.tunnel + ']' : '');
  }

  // ---- drawing ---------------------------------------------------------
  var hits = [];   // what was drawn where, for hover and click
  var selected = null;
  function rect(a, b, y, h, color) {
    var xa = x(a), xb = x(b);
    if (xb < LABEL || xa > W) return;
    // Whole pixels: crisp edges, and a phase shorter than a pixel still
    // shows as one.
    xa = Math.round(Math.max(LABEL, xa)); xb = Math.max(xa + 1, Math.round(Math.min(W, xb)));
    ctx.fillStyle = color; ctx.fillRect(xa, y, xb - xa, h);
  }
  function drawAxis() {
    ctx.fillStyle = '#fafafa'; ctx.fillRect(0, 0, W, AXIS);
    var steps = [1, 2, 5], want = (view.b - view.a) / Math.max(1, (W - LABEL) / 110), step = 1;
    for (var e = 1; step < want; e *= 10) {
      for (var k = 0; k < 3 && step < want; k++) step = steps[k] * e;
    }
    ctx.font = '11px sans-serif'; ctx.textBaseline = 'middle';
    for (var t = Math.ceil(view.a / step) * step; t <= view.b; t += step) {
      var px = x(t);
      ctx.fillStyle = C.grid; ctx.fillRect(px, AXIS, 1, H - AXIS);
      ctx.fillStyle = C.muted; ctx.fillText(fmt(t), px + 3, AXIS / 2);
    }
    ctx.fillStyle = C.text; ctx.fillText('time since capture start', 6, AXIS / 2);
  }
  function drawLane(r, y) {
    var mid = y + BT + BH / 2, bh = BH, top = y + BT;
    // the connection's life: a thin line where it was idle
    rect(r.start, Math.max(r.end, r.start), mid, 1, C.idle);
    // handshake: SYN -> SYN+ACK -> ACK
    if (r.ack >= 0) rect(r.start, r.ack, top, bh, C.connect);
    else if (r.synack >= 0) rect(r.start, r.synack, top, bh, C.connect);
    var prevEnd = -1;
    r.bars.forEach(function (b, k) {
      var s = b.rs >= 0 ? b.rs : b.ps;
      if (k === 0 && r.ack >= 0 && b.rs > r.ack) rect(r.ack, b.rs, top + 2, bh - 4, C.blocked);
      if (b.rs >= 0 && b.re >= 0) rect(b.rs, b.re, top, bh, C.send);
      if (b.re >= 0 && b.ps >= 0 && b.ps > b.re) {
        var q = (b.flags & 1) && prevEnd > b.re ? Math.min(prevEnd, b.ps) : b.re;
        if (q > b.re) rect(b.re, q, top, bh, C.blocked);
        rect(q, b.ps, top, bh, C.wait);
      }
      if (b.ps >= 0 && b.pe >= 0) rect(b.ps, b.pe, top, bh, C.receive);
      var e = b.pe >= 0 ? b.pe : (b.re >= 0 ? b.re : s);
      if (matchesSearch(b)) {
        ctx.strokeStyle = C.match; ctx.lineWidth = 1.5;
        ctx.strokeRect(x(s) - 1, top - 2, Math.max(2, x(e) - x(s)) + 2, bh + 4);
      }
      hits.push({ kind: 'bar', row: r, bar: b, x0: x(s) - 2, x1: Math.max(x(e), x(s) + 1) + 2, y0: y, y1: y + ROW });
      if (b.pe > prevEnd) prevEnd = b.pe;
    });
    for (var m = 0; m + 2 < r.marks.length; m += 3) {
      var mx = x(r.marks[m]), kind = r.marks[m + 1];
      if (mx < LABEL || mx > W) continue;
      ctx.fillStyle = kind < 2 ? C.retrans : C.gap;
      ctx.fillRect(Math.round(mx), kind % 2 ? mid : top - 1, 1, bh / 2 + 1);
    }
    if (r.closeTs >= 0) {
      var cx = x(r.closeTs);
      if (cx >= LABEL && cx <= W) {
        ctx.fillStyle = r.close === 2 ? C.rst : C.fin;
        ctx.fillRect(Math.round(cx) - 1, top - 3, r.close === 2 ? 3 : 2, bh + 6);
      }
    }
  }
  function drawGroup(r, y) {
    var max = 1;
    r.bins.forEach(function (b) { max = Math.max(max, b[1]); });
    rect(r.start, r.end, y + BT + BH / 2, 1, C.idle);
    r.bins.forEach(function (b) {
      var a = r.histOrigin + b[0] * r.histWidth;
      ctx.globalAlpha = 0.25 + 0.75 * b[1] / max;
      rect(a, a + r.histWidth, y + BT, BH, C.connect);
    });
    ctx.globalAlpha = 1;
    hits.push({ kind: 'group', row: r, x0: LABEL, x1: W, y0: y, y1: y + ROW });
  }
  function drawMarkers(r, y) {
    r.findings.forEach(function (f) {
      var mx = x(f.ts);
      if (mx < LABEL - 4 || mx > W + 4) return;
      mx = Math.max(LABEL + 4, mx);
      ctx.fillStyle = C.sev[f.sev];
      ctx.beginPath();
      ctx.moveTo(mx, y); ctx.lineTo(mx + 5, y + 5); ctx.lineTo(mx, y + 10); ctx.lineTo(mx - 5, y + 5);
      ctx.closePath(); ctx.fill();
      ctx.strokeStyle = '#fff'; ctx.lineWidth = 1; ctx.stroke();
      hits.push({ kind: 'finding', row: r, finding: f, x0: mx - 6, x1: mx + 6, y0: y, y1: y + 11, cx: mx, cy: y + 5 });
    });
  }
  var drawn = { rows: 0, bars: 0, markers: 0 };
  function draw() {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    hits = [];
    var top = scroller.scrollTop;
    canvas.style.top = top + 'px';
    var first = Math.max(0, Math.floor(top / ROW)), last = Math.min(rows.length, first + Math.ceil((H - AXIS) / ROW) + 1);
    drawAxis();
    ctx.save();
    ctx.beginPath(); ctx.rect(0, AXIS, W, H - AXIS); ctx.clip();
    ctx.font = '12px sans-serif'; ctx.textBaseline = 'middle';
    drawn = { rows: 0, bars: 0, markers: 0 };
    for (var i = first; i < last; i++) {
      var r = rows[i], y = AXIS + (i - first) * ROW - (top % ROW);
      if (r === selected) { ctx.fillStyle = C.sel; ctx.fillRect(0, y, W, ROW); }
      else if (i % 2) { ctx.fillStyle = '#fcfcfc'; ctx.fillRect(0, y, W, ROW); }
      ctx.fillStyle = r.kind === 'cap' ? C.text : (r.kind === 'group' ? C.muted : C.text);
      ctx.save(); ctx.beginPath(); ctx.rect(0, y, LABEL - 6, ROW); ctx.clip();
      ctx.font = r.kind === 'cap' ? 'bold 12px sans-serif' : '12px sans-serif';
      ctx.fillText(label(r), 6, y + ROW / 2); ctx.restore();
      if (r.kind === 'lane') { drawLane(r, y); drawn.bars += r.bars.length; }
      else if (r.kind === 'group') drawGroup(r, y);
      if (r.kind !== 'cap') {
        hits.push({ kind: 'row', row: r, x0: 0, x1: W, y0: y, y1: y + ROW });
        drawMarkers(r, y);
        drawn.rows++;
      }
    }
    ctx.restore();
    drawn.markers = hits.filter(function (h) { return h.kind === 'finding'; }).length;
  }

  // ---- interaction -----------------------------------------------------
  var tip = $('tooltip'), details = $('details');
  function hitAt(px, py) {
    var best = null, order = { finding: 0, bar: 1, group: 2, row: 3 };
    hits.forEach(function (h) {
      if (px >= h.x0 && px <= h.x1 && py >= h.y0 && py <= h.y1 && (!best || order[h.kind] < order[best.kind])) best = h;
    });
    return best;
  }
  function ms(us) { return us >= 0 ? (us / 1000).toFixed(3) + ' ms' : '–'; }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function barText(b) {
    return b.method + ' ' + b.uri + ' → ' + (b.status || 'no status') +
      '\nsend ' + ms(b.re - b.rs) + ', wait ' + ms(b.ps >= 0 && b.re >= 0 ? b.ps - b.re : -1) +
      ', receive ' + ms(b.pe - b.ps) + ((b.flags & 1) ? '\npipelined' : '');
  }
  function tipText(h) {
    if (h.kind === 'finding') {
      var ev = JSON.stringify(h.finding.evidence);
      return h.finding.rule + ' ' + SEV[h.finding.sev] + ': ' + h.finding.message +
        '\n' + (ev.length > 400 ? ev.slice(0, 400) + '…' : ev) + '\n(click for details)';
    }
    if (h.kind === 'bar') return barText(h.bar);
    if (h.kind === 'group') {
      var g = h.row;
      return g.connections + ' connections, ' + g.tx + ' transactions grouped';
    }
    return label(h.row);
  }
  function tshark(r, cap) {
    return "tshark -r '" + D.captures[cap][0].replace(/'/g, "'\\''") + "' -Y 'tcp.stream == " + r + "'";
  }
  function frames(ev) {
    var out = [];
    (function walk(v, k) {
      if (Array.isArray(v)) v.forEach(function (x) { walk(x, k); });
      else if (v && typeof v === 'object') Object.keys(v).forEach(function (kk) { walk(v[kk], kk); });
      else if (/frame/.test(k || '') && typeof v === 'number') out.push(v);
    })(ev, '');
    return out;
  }
  function showFinding(f) {
    var d = docs[f.rule] || [f.rule, '', ''];
    var fr = frames(f.evidence);
    details.innerHTML = '<h3 class="sev-' + SEV[f.sev] + '">' + esc(f.rule) + ' ' + esc(d[1]) + ' (' + SEV[f.sev] + ')</h3>' +
      '<p class="message">' + esc(f.message) + '</p>' +
      '<p>connection ' + f.conn + (f.tx >= 0 ? ', transaction ' + f.tx : '') + ', at ' + fmt(f.ts) +
      ' · <a href="#doc-' + esc(f.rule) + '">rule documentation</a></p>' +
      (fr.length ? '<p class="frames">frames: ' + fr.map(esc).join(', ') + '</p>' : '') +
      (f.lane >= 0 ? '<p class="conn-frames">the connection\'s frames: ' + lanes[f.lane].firstFrame + '–' +
        lanes[f.lane].lastFrame + '</p>' : '') +
      '<pre class="cmd">' + esc(tshark(f.conn, f.cap)) + '</pre>' +
      '<h4>evidence</h4><pre class="evidence">' + esc(JSON.stringify(f.evidence, null, 2)) + '</pre>';
    details.dataset.finding = f.i;
  }
  function showLane(r) {
    if (r.kind === 'group') {
      var p = r.phases;
      details.innerHTML = '<h3>' + r.connections + ' grouped connections: ' + esc(r.client) + ' → ' + esc(r.server) + '</h3>' +
        '<p>' + r.tx + ' transactions between ' + fmt(r.start) + ' and ' + fmt(r.end) + '; summed: connect ' + ms(p[0]) +
        ', send ' + ms(p[1]) + ', wait ' + ms(p[2]) + ', receive ' + ms(p[3]) + '</p>' +
        '<p>statuses: none ' + r.statuses[0] + ', 1xx ' + r.statuses[1] + ', 2xx ' + r.statuses[2] + ', 3xx ' + r.statuses[3] +
        ', 4xx ' + r.statuses[4] + ', 5xx ' + r.statuses[5] + '; closed by FIN ' + r.closes[0] + ', RST ' + r.closes[1] +
        ', open ' + r.closes[2] + '; ' + r.retrans + ' retransmissions, ' + r.gaps + ' gaps</p>' +
        findingList(r);
      return;
    }
    details.innerHTML = '<h3>connection ' + r.id + ': ' + esc(r.client) + ' → ' + esc(r.server) +
      (r.gen ? ' (generation ' + r.gen + ')' : '') + '</h3>' +
      '<p>protocol: ' + esc(r.proto) + '</p>' +
      (r.tunnel ? '<p>tunnel: ' + esc(r.tunnel) + '</p>' : '') +
      '<p>' + fmt(r.start) + ' to ' + fmt(r.end) + ', handshake ' + (r.ack >= 0 ? ms(r.ack - r.start) : 'not seen') +
      ', closed by ' + ['nothing (open)', 'FIN', 'RST'][r.close] + ', frames ' + r.firstFrame + '–' + r.lastFrame +
      ', ' + r.tx + ' transactions</p>' +
      '<pre class="cmd">' + esc(tshark(r.id, r.cap)) + '</pre>' +
      '<table class="txs"><tr><th>#</th><th>request</th><th>status</th><th>send</th><th>wait</th><th>receive</th></tr>' +
      r.bars.slice(0, 500).map(function (b) {
        return '<tr' + (matchesSearch(b) ? ' class="match"' : '') + '><td>' + b.index + '</td><td>' + esc(b.method + ' ' + b.uri) +
          '</td><td>' + (b.status || '–') + '</td><td>' + ms(b.re - b.rs) + '</td><td>' +
          ms(b.ps >= 0 && b.re >= 0 ? b.ps - b.re : -1) + '</td><td>' + ms(b.pe - b.ps) + '</td></tr>';
      }).join('') + '</table>' + findingList(r);
  }
  function findingList(r) {
    if (!r.findings.length) return '';
    return '<h4>findings</h4><ul class="findings">' + r.findings.map(function (f) {
      return '<li><a href="#" data-f="' + f.i + '" class="sev-' + SEV[f.sev] + '">' + esc(f.rule) + '</a> ' + esc(f.message) + '</li>';
    }).join('') + '</ul>';
  }
  details.addEventListener('click', function (e) {
    var a = e.target.closest('a[data-f]');
    if (a) { e.preventDefault(); showFinding(findings[+a.dataset.f]); }
  });
  function pos(e) { var b = canvas.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; }
  var drag = null;
  canvas.addEventListener('mousedown', function (e) { drag = { x: e.clientX, a: view.a, b: view.b, moved: false }; });
  window.addEventListener('mouseup', function () { setTimeout(function () { drag = null; }, 0); });
  canvas.addEventListener('mousemove', function (e) {
    var p = pos(e);
    if (drag && e.buttons & 1) {
      var dx = e.clientX - drag.x;
      if (Math.abs(dx) > 2) drag.moved = true;
      var dt = dx / (W - LABEL - PAD) * (drag.b - drag.a);
      view.a = drag.a - dt; view.b = drag.b - dt;
      tip.hidden = true; draw(); return;
    }
    var h = hitAt(p[0], p[1]);
    if (h && h.kind !== 'row') {
      tip.textContent = tipText(h); tip.hidden = false;
      // Fixed to the window, so the pane beside does not clip it.
      tip.style.left = Math.max(4, Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8)) + 'px';
      tip.style.top = Math.min(e.clientY + 14, window.innerHeight - tip.offsetHeight - 8) + 'px';
    } else tip.hidden = true;
  });
  canvas.addEventListener('mouseleave', function () { tip.hidden = true; });
  canvas.addEventListener('click', function (e) {
    if (drag && drag.moved) return;
    var p = pos(e), h = hitAt(p[0], p[1]);
    if (!h) return;
    selected = h.row;
    if (h.kind === 'finding') showFinding(h.finding); else showLane(h.row);
    draw();
  });
  function zoom(f, at) {
    var t = at === undefined ? (view.a + view.b) / 2 : at;
    var a = t - (t - view.a) * f, b = t + (view.b - t) * f;
    if (b - a < 1) return;
    view.a = a; view.b = b; draw();
  }
  canvas.addEventListener('wheel', function (e) {
    if (!e.ctrlKey && !e.metaKey) return;
    e.preventDefault();
    zoom(e.deltaY > 0 ? 1.25 : 0.8, tAt(pos(e)[0]));
  }, { passive: false });
  $('zoom-in').addEventListener('click', function () { zoom(0.5); });
  $('zoom-out').addEventListener('click', function () { zoom(2); });
  $('zoom-reset').addEventListener('click', function () { view.a = 0; view.b = span * 1.02 + 1; draw(); });
  scroller.addEventListener('scroll', function () { draw(); });
  window.addEventListener('resize', function () { layout(); draw(); });

  applyFilters();
  // What the page drew, for people and for the browser test.
  window.connlintReport = {
    lanes: lanes.length, groups: groups.length, bars: totalBars, findings: findings.length,
    firstDrawMs: performance.now() - t0,
    drawn: function () { return drawn; },
    rows: function () { return rows.length; },
    markers: function () {
      var b = canvas.getBoundingClientRect();
      return hits.filter(function (h) { return h.kind === 'finding'; }).map(function (h) {
        return { finding: h.finding.i, rule: h.finding.rule, x: b.left + h.cx, y: b.top + h.cy };
      });
    }
  };
  // The first frame painted after the first draw: time to first paint of
  // the waterfall, since navigation start.
  requestAnimationFrame(function () {
    requestAnimationFrame(function () {
      window.connlintReport.paintedMs = performance.now();
      document.body.dataset.ready = '1';
    });
  });
})();
