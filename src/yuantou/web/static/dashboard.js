// Yuantou dashboard: panels poll with htmx; plots are drawn by the node's own plotly.js; times tick here.
(function () {
  "use strict";
  // the page's words, in its language (the node renders them into <body data-…>)
  function words() { return document.body.dataset; }
  function span(seconds) {
    var u = (words().units || "d h m s").split(" ");
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + u[3];
    if (seconds < 3600) return Math.floor(seconds / 60) + u[2] + " " + (seconds % 60) + u[3];
    if (seconds < 86400) return Math.floor(seconds / 3600) + u[1] + " " + Math.floor(seconds % 3600 / 60) + u[2];
    return Math.floor(seconds / 86400) + u[0] + " " + Math.floor(seconds % 86400 / 3600) + u[1];
  }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("time[data-ago]").forEach(function (el) {
      el.textContent = (words().ago || "{time} ago").replace("{time}", span(now - parseFloat(el.dataset.ago)));
    });
    document.querySelectorAll("time[data-until]").forEach(function (el) {
      var left = parseFloat(el.dataset.until) - now;
      el.textContent = left > 0 ? span(left) : (words().reached || "cut-off reached");
      el.classList.toggle("late", left <= 0);
    });
  }
  function draw(root) {
    root.querySelectorAll(".plot[data-figure]").forEach(function (el) {
      var fig = JSON.parse(el.dataset.figure);
      Plotly.react(el, fig.data, fig.layout, {responsive: true, displaylogo: false});
    });
  }
  document.addEventListener("htmx:configRequest", function (e) {
    var version = e.detail.elt.dataset.version;
    if (version) e.detail.headers["X-Panel-Version"] = version;
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var xhr = e.detail.xhr, version = xhr && xhr.getResponseHeader("X-Panel-Version");
    if (version) e.detail.elt.dataset.version = version;
    var status = document.getElementById("live");
    if (status) {
      var ok = xhr && xhr.status < 400;
      status.textContent = ok ? (words().live || "live") : (words().down || "node unreachable");
      status.className = ok ? "live" : "live down";
    }
  });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.detail.target); tick(); });
  document.addEventListener("DOMContentLoaded", function () { draw(document); tick(); setInterval(tick, 1000); });
})();
