// The panel's small island of client code: charts (uPlot) and the wallet card's live preview.
(function () {
  'use strict';
  function drawCharts(root) {
    if (typeof uPlot === 'undefined') return;
    root.querySelectorAll('[data-chart]').forEach(function (el) {
      if (el.dataset.drawn) return;
      el.dataset.drawn = '1';
      var spec = JSON.parse(el.dataset.chart);
      var width = Math.max(280, el.clientWidth || 600);
      var series = [{}].concat(spec.series.map(function (s, i) {
        return { label: s.label, stroke: ['#1a4fb5', '#a4161a', '#1d6b2f', '#8a5a00'][i % 4], width: 2 };
      }));
      var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
      new uPlot({ width: width, height: 220, series: series, axes: [{}, {}], scales: { x: { time: true } } }, data, el);
    });
  }
  function preview(form) {
    var out = document.getElementById(form.dataset.preview);
    if (!out) return;
    var v = function (n) { var f = form.elements.namedItem(n); return f ? f.value : ''; };
    out.style.background = v('backgroundColor');
    out.style.color = v('foregroundColor');
    out.querySelectorAll('.pp-label').forEach(function (l) { l.style.color = v('labelColor'); });
    var map = { 'pp-org': 'logoText', 'pp-primary-label': 'primaryLabel', 'pp-desc': 'description' };
    Object.keys(map).forEach(function (cls) {
      var node = out.querySelector('.' + cls);
      if (node && v(map[cls])) node.textContent = v(map[cls]);
    });
  }
  function init(root) {
    drawCharts(root);
    root.querySelectorAll('form[data-preview]').forEach(function (form) {
      form.addEventListener('input', function () { preview(form); });
      preview(form);
    });
  }
  document.addEventListener('DOMContentLoaded', function () { init(document); });
  document.addEventListener('htmx:afterSettle', function (e) { init(e.target); });
})();
