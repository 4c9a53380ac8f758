// The organiser's console: print the pick lists, and scan a household's pickup QR code with the camera
// where the browser can (BarcodeDetector); typing the code always works.
"use strict";
(function () {
  function scanInto(input, video, button) {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.hidden = false;
      video.srcObject = stream;
      video.play();
      function look() {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            input.value = codes[0].rawValue;
            stream.getTracks().forEach(function (t) { t.stop(); });
            video.hidden = true;
            input.form.requestSubmit();
          } else { requestAnimationFrame(look); }
        }).catch(function () { requestAnimationFrame(look); });
      }
      look();
    }).catch(function () { button.hidden = true; });
  }
  function wire(root) {
    root.querySelectorAll("[data-print]").forEach(function (b) { b.onclick = function () { window.print(); }; });
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
    root.querySelectorAll("[data-scan]").forEach(function (button) {
      var input = document.getElementById(button.dataset.scan), video = root.querySelector("[data-scanner]");
      button.hidden = false;
      button.onclick = function () { scanInto(input, video, button); };
    });
  }
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSettle", function () { wire(document); });
})();
