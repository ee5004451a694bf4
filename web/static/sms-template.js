// Console SMS template editor: live preview, character count, GSM-7 or
// UCS-2, segments. The same rules as src/sms/template.rs (placeholders
// filled once, left to right) and src/sms/text.rs (GSM 03.38 alphabet,
// extension characters count two, 160/153 and 70/67 per segment,
// unaccenting). No inline code (CSP).
(function () {
  "use strict";
  var form = document.getElementById("template-form");
  if (!form) return;
  var area = document.getElementById("tpl-text");
  var box = document.getElementById("tpl-unaccent");
  var out = {
    text: document.getElementById("preview-text"),
    chars: document.getElementById("preview-chars"),
    encoding: document.getElementById("preview-encoding"),
    segments: document.getElementById("preview-segments"),
    warning: document.getElementById("preview-warning")
  };
  var vars = {};
  try { vars = JSON.parse(form.getAttribute("data-vars") || "{}"); } catch (e) { vars = {}; }
  var required = (form.getAttribute("data-required") || "").split(",").filter(Boolean);
  var unicodeOn = form.getAttribute("data-unicode") === "1";

  var GSM_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXT = "^{}\\[~]|€\f";

  function normalize(t) {
    return t.replace(/\r\n/g, "\n").replace(/\r/g, "\n").trim();
  }

  // {name} → value, once, left to right; unknown names stay as written.
  function render(t) {
    return t.replace(/\{([a-z_]+)\}/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : m;
    });
  }

  function unaccented(t) {
    var s = "";
    var chars = Array.from(t.normalize("NFD"));
    for (var i = 0; i < chars.length; i++) {
      var c = chars[i];
      if (/\p{M}/u.test(c)) continue;
      switch (c) {
        case "đ": c = "d"; break;
        case "Đ": c = "D"; break;
        case "‘": case "’": case "‚": case "′": c = "'"; break;
        case "“": case "”": case "„": case "″": c = "\""; break;
        case "–": case "—": case "−": c = "-"; break;
        case "…": s += "..."; continue;
        case "\u00A0": c = " "; break;
      }
      if (GSM_BASIC.indexOf(c) >= 0 || GSM_EXT.indexOf(c) >= 0) s += c;
      else if (/\s/.test(c)) s += " ";
    }
    return s;
  }

  function cost(t) {
    var septets = 0, gsm = true;
    var chars = Array.from(t);
    for (var i = 0; i < chars.length; i++) {
      var c = chars[i];
      if (GSM_BASIC.indexOf(c) >= 0) septets += 1;
      else if (GSM_EXT.indexOf(c) >= 0) septets += 2;
      else { gsm = false; break; }
    }
    if (gsm) {
      return { units: septets, encoding: "GSM-7", segments: septets <= 160 ? 1 : Math.ceil(septets / 153) };
    }
    var units = t.length; // UTF-16 code units
    return { units: units, encoding: "UCS-2 (Unicode)", segments: units <= 70 ? 1 : Math.ceil(units / 67) };
  }

  function update() {
    var raw = normalize(area.value);
    var text = render(raw);
    if (box.checked || !unicodeOn) text = unaccented(text);
    var c = cost(text);
    out.text.textContent = text;
    out.chars.textContent = String(c.units);
    out.encoding.textContent = c.encoding;
    out.segments.textContent = String(c.segments);
    var missing = required.filter(function (n) { return raw.indexOf("{" + n + "}") < 0; });
    out.warning.textContent = missing.length
      ? "Thiếu chỗ điền bắt buộc: " + missing.map(function (n) { return "{" + n + "}"; }).join(", ") + ". Mẫu thiếu chỗ điền này sẽ không được lưu."
      : "";
  }

  area.addEventListener("input", update);
  box.addEventListener("change", update);
  update();
})();
