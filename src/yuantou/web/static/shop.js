// The storefront's only script: a countdown to each cut-off, pools' totals pushed live (Server-Sent Events),
// and "my orders" refreshed while open. Everything it shows was rendered, and escaped, by the node.
"use strict";
(function () {
  function left(seconds, units) {
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = Math.floor(seconds % 60);
    var u = (units || "h m s").split(" ");
    return (h ? h + u[0] + " " : "") + (h || m ? m + u[1] + " " : "") + s + u[2];
  }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll(".countdown[data-cutoff]").forEach(function (el) {
      var rest = parseFloat(el.dataset.cutoff) - now;
      el.textContent = rest > 0 ? el.dataset.left.replace("{time}", left(rest, el.dataset.units)) : el.dataset.closed;
    });
  }
  function live() {
    var ids = Array.prototype.map.call(document.querySelectorAll("[data-live]"), function (el) {
      return "pool=" + encodeURIComponent(el.dataset.live);
    });
    if (!ids.length || !window.EventSource) return;
    var source = new EventSource("/shop/live?" + ids.join("&"));
    source.addEventListener("pool", function (event) {
      var data = JSON.parse(event.data);
      document.querySelectorAll("[data-live]").forEach(function (el) {
        if (el.dataset.live === data.pool_id) el.innerHTML = data.html;
      });
      document.body.dataset.updated = String(Date.now());
    });
  }
  function refresh(el) {
    var request = new XMLHttpRequest();
    request.open("GET", el.dataset.refresh);
    request.setRequestHeader("X-Version", el.dataset.version || "");
    request.onload = function () {
      if (request.status === 200) {
        el.innerHTML = request.responseText;
        el.dataset.version = request.getResponseHeader("X-Version") || "";
      }
      setTimeout(function () { refresh(el); }, 2000);
    };
    request.onerror = function () { setTimeout(function () { refresh(el); }, 5000); };
    request.send();
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    live();
    document.querySelectorAll("[data-refresh]").forEach(function (el) { setTimeout(function () { refresh(el); }, 2000); });
  });
})();
