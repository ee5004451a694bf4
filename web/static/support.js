// Console support request page: choosing a canned reply fills the reply box
// (the staff member may edit it before sending). No inline code (CSP).
(function () {
  "use strict";
  document.querySelectorAll("select[data-canned-target]").forEach(function (sel) {
    var target = document.getElementById(sel.getAttribute("data-canned-target"));
    if (!target) return;
    sel.addEventListener("change", function () {
      var opt = sel.options[sel.selectedIndex];
      var text = opt && opt.getAttribute("data-text");
      if (text) {
        target.value = text;
        target.focus();
      }
    });
  });
})();
