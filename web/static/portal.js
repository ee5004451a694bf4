// Citizen portal: a new captcha picture without reloading the form (the
// reload button also works without script: it re-renders the form).
(function () {
  "use strict";
  document.querySelectorAll("[data-captcha-reload]").forEach(function (btn) {
    btn.addEventListener("click", function (e) {
      var row = btn.closest(".field");
      if (!row || !window.fetch) return;
      e.preventDefault();
      btn.disabled = true;
      fetch("/api/v1/captcha", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (c) {
          var img = row.querySelector(".captcha-img");
          var id = row.querySelector("input[name=captcha_id]");
          var input = row.querySelector("input[name=captcha]");
          if (img) img.src = c.image;
          if (id) id.value = c.captcha_id;
          if (input) { input.value = ""; input.focus(); }
        })
        .then(function () { btn.disabled = false; }, function () {
          // No answer from the API: fall back to re-rendering the form.
          btn.disabled = false;
          if (btn.form && btn.form.requestSubmit) btn.form.requestSubmit(btn);
        });
    });
  });
})();
