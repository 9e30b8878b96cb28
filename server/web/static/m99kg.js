// The one script of the pages, and optional: choosing a named query shows its parameters at once
// (without JavaScript the "Show" button next to the picker does the same).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    var button = select.form.querySelector("[data-picker-button]");
    if (button) { button.hidden = true; }
    select.addEventListener("change", function () {
      if (select.form.requestSubmit && button) { select.form.requestSubmit(button); } else { select.form.submit(); }
    });
  });
});
