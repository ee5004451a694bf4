// motcua pages: small progressive enhancements, no inline scripts (CSP).
(function () {
  "use strict";
  // Mobile menu.
  var toggle = document.querySelector(".menu-toggle");
  var side = document.getElementById("side-menu");
  if (toggle && side) {
    var setOpen = function (open) {
      if (open) {
        // Below the header, whatever banner sits above it, so the button
        // that closes the drawer stays visible.
        var header = document.querySelector(".top");
        if (header) side.style.top = (header.offsetTop + header.offsetHeight) + "px";
      }
      side.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    };
    toggle.addEventListener("click", function (e) {
      e.stopPropagation();
      setOpen(!side.classList.contains("open"));
    });
    // Esc and a tap outside close the drawer.
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && side.classList.contains("open")) {
        setOpen(false);
        toggle.focus();
      }
    });
    document.addEventListener("click", function (e) {
      if (side.classList.contains("open") && !side.contains(e.target) && e.target !== toggle) setOpen(false);
    });
  }
  // Tables read as cards on a phone: each cell carries its column's name.
  document.querySelectorAll("table.grid").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    if (!heads.length || table.classList.contains("keep-table")) {
      table.setAttribute("tabindex", "0");
      return;
    }
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) {
        if (td.tagName === "TD" && !td.hasAttribute("data-label") && heads[i] && !td.hasAttribute("colspan")) {
          td.setAttribute("data-label", heads[i].textContent.trim());
        }
      });
    });
    table.classList.add("cards");
  });
  // The code field gets the focus when an OTP page opens.
  var otpFirst = document.querySelector(".otp-boxes input, input#otp:not([type=hidden])");
  if (otpFirst && !document.querySelector(".field-error, .flash.error")) otpFirst.focus();
  // Resend countdown: the button is disabled until the cooldown ends.
  document.querySelectorAll("[data-countdown]").forEach(function (btn) {
    var left = parseInt(btn.getAttribute("data-countdown"), 10) || 0;
    var out = btn.parentNode.querySelector(".countdown");
    function tick() {
      if (left > 0) {
        btn.disabled = true;
        if (out) out.textContent = "(gửi lại sau " + left + " giây)";
        left -= 1;
        setTimeout(tick, 1000);
      } else {
        btn.disabled = false;
        if (out) out.textContent = "";
      }
    }
    tick();
  });
  // Six OTP boxes that fill a hidden field; pasting 6 digits works.
  document.querySelectorAll(".otp-boxes").forEach(function (wrap) {
    var boxes = wrap.querySelectorAll("input");
    var target = document.getElementById(wrap.getAttribute("data-target"));
    function sync() {
      var v = "";
      boxes.forEach(function (b) { v += b.value; });
      if (target) target.value = v;
    }
    boxes.forEach(function (b, i) {
      b.addEventListener("input", function () {
        b.value = b.value.replace(/\D/g, "");
        if (b.value.length > 1) {
          var digits = b.value.split("");
          for (var j = 0; j < digits.length && i + j < boxes.length; j++) boxes[i + j].value = digits[j];
        }
        if (b.value && i < boxes.length - 1) boxes[i + 1].focus();
        sync();
      });
      b.addEventListener("keydown", function (e) {
        if (e.key === "Backspace" && !b.value && i > 0) boxes[i - 1].focus();
      });
      b.addEventListener("paste", function (e) {
        var t = (e.clipboardData || window.clipboardData).getData("text").replace(/\D/g, "");
        if (t.length) {
          e.preventDefault();
          for (var j = 0; j < boxes.length; j++) boxes[j].value = t.charAt(j) || "";
          sync();
          boxes[Math.min(t.length, boxes.length) - 1].focus();
        }
      });
    });
  });
  // Live password policy check (the server checks again).
  document.querySelectorAll("input[data-policy]").forEach(function (input) {
    var list = input.parentNode.querySelector(".policy-live");
    if (!list) return;
    var rules = [
      ["Ít nhất 8 ký tự", function (v) { return v.length >= 8; }],
      ["Có chữ thường", function (v) { return /\p{Ll}/u.test(v); }],
      ["Có chữ in hoa", function (v) { return /\p{Lu}/u.test(v); }],
      ["Có chữ số", function (v) { return /\d/.test(v); }],
      ["Có ký tự đặc biệt", function (v) { return /[^\p{L}\p{N}\s]/u.test(v); }],
      // Checked by the server, which knows the person's data.
      ["Không chứa số CCCD, số điện thoại, tên đăng nhập hoặc họ tên", null]
    ];
    function render() {
      list.hidden = false;
      list.innerHTML = "";
      rules.forEach(function (r) {
        var li = document.createElement("li");
        li.textContent = r[0];
        li.className = r[1] === null ? "info" : (input.value && r[1](input.value) ? "ok" : (input.value ? "bad" : "todo"));
        list.appendChild(li);
      });
    }
    render();
    input.addEventListener("input", render);
  });
})();
// Searchable select: an input filters the options of the select it names.
(function () {
  "use strict";
  document.querySelectorAll("input[data-filter-select]").forEach(function (input) {
    var select = document.getElementById(input.getAttribute("data-filter-select"));
    if (!select) return;
    function fold(s) {
      return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "d").toLowerCase();
    }
    input.addEventListener("input", function () {
      var q = fold(input.value.trim());
      var first = null;
      Array.prototype.forEach.call(select.options, function (o) {
        var show = !q || fold(o.textContent).indexOf(q) >= 0;
        o.hidden = !show;
        if (show && !first) first = o;
      });
      if (first && (select.selectedIndex < 0 || select.options[select.selectedIndex].hidden)) first.selected = true;
    });
  });
})();
