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
    var v = function (n) { var f = form.elements.namedItem(n); return f && f.value ? f.value : ''; };
    if (v('backgroundColor')) out.style.background = v('backgroundColor');
    if (v('foregroundColor')) out.style.color = v('foregroundColor');
    out.querySelectorAll('.pp-label').forEach(function (l) { if (v('labelColor')) l.style.color = v('labelColor'); });
    out.querySelectorAll('[data-field]').forEach(function (node) {
      var text = v(node.dataset.field);
      if (text) node.textContent = text;
    });
    stripPreview(form, out, v('labelColor'));
  }
  // The strip: a picture just chosen (drawn as Wallet crops it: cover, centred), else the saved one unless it is being removed, else a tint.
  function stripPreview(form, out, labelColor) {
    var strip = out.querySelector('.pp-strip');
    if (!strip) return;
    var input = form.querySelector('[data-preview-strip]');
    var remove = form.querySelector('[data-preview-strip-remove]');
    var picked = input && input.files && input.files[0];
    if (picked) {
      if (strip.previewFile !== picked) {
        if (strip.previewUrl) URL.revokeObjectURL(strip.previewUrl);
        strip.previewUrl = URL.createObjectURL(picked);
        strip.previewFile = picked;
      }
      strip.style.backgroundImage = 'url("' + strip.previewUrl + '")';
    } else if (strip.dataset.saved && !(remove && remove.checked)) {
      strip.style.backgroundImage = strip.dataset.saved;
    } else {
      strip.style.backgroundImage = 'linear-gradient(90deg, ' + (labelColor || '#c9d6ff') + '55, transparent)';
    }
  }
  function init(root) {
    drawCharts(root);
    root.querySelectorAll('form[data-preview]').forEach(function (form) {
      form.addEventListener('input', function () { preview(form); });
      form.addEventListener('change', function () { preview(form); });
      preview(form);
    });
  }
  document.addEventListener('DOMContentLoaded', function () { init(document); });
  document.addEventListener('htmx:afterSettle', function (e) { init(e.target); });
})();
