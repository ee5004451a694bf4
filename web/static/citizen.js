// Tạo tài khoản công dân: date pickers for dd/mm/yyyy fields, the OTP
// validity countdown, and a client-side size check of the scanned ID (the
// server checks again). No inline scripts (CSP).
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // A native date picker next to each dd/mm/yyyy text field.
  document.querySelectorAll(".date-picker[data-for]").forEach(function (picker) {
    var text = document.getElementById(picker.getAttribute("data-for"));
    if (!text) return;
    function fromText() {
      var m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text.value.trim());
      picker.value = m ? m[3] + "-" + pad(+m[2]) + "-" + pad(+m[1]) : "";
    }
    fromText();
    text.addEventListener("change", fromText);
    picker.addEventListener("change", function () {
      var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(picker.value);
      if (m) text.value = m[3] + "/" + m[2] + "/" + m[1];
    });
  });
  // How long the OTP stays valid.
  var timer = document.getElementById("otp-timer");
  if (timer) {
    var left = parseInt(timer.getAttribute("data-expires-in"), 10) || 0;
    var tick = function () {
      if (left > 0) {
        timer.textContent = "Mã OTP còn hiệu lực trong " + Math.floor(left / 60) + ":" + pad(left % 60) + ".";
        left -= 1;
        setTimeout(tick, 1000);
      } else {
        timer.textContent = "Mã OTP đã hết hiệu lực. Vui lòng bấm “Gửi mã OTP” để gửi mã mới.";
        timer.classList.add("expired");
      }
    };
    tick();
  }
  // Too big or too many files: say so before uploading.
  var scan = document.getElementById("c-scan");
  var scanError = document.getElementById("scan-client-error");
  if (scan && scanError) {
    var check = function () {
      var max = parseInt(scan.getAttribute("data-max-bytes"), 10) || 0;
      var msg = "";
      if (scan.files && scan.files.length > 1) {
        msg = "Chỉ đính kèm 1 tệp gồm cả 2 mặt CMND/CCCD.";
      } else if (scan.files && scan.files[0] && max && scan.files[0].size > max) {
        msg = "Tệp đính kèm vượt quá dung lượng cho phép (tối đa 5 MB).";
      } else if (scan.files && scan.files[0] && scan.files[0].size === 0) {
        msg = "Tệp đính kèm rỗng (0 byte).";
      }
      scanError.textContent = msg;
      scanError.hidden = !msg;
      return !msg;
    };
    scan.addEventListener("change", check);
    if (scan.form) {
      scan.form.addEventListener("submit", function (e) {
        if (!check()) e.preventDefault();
      });
    }
  }
})();
