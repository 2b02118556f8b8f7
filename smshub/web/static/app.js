// smshub pages: small progressive enhancements, no build step. Everything works without
// this file; it adds dismissible alerts and add/remove rows for a contact's numbers.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function resetRow(row, index) {
    row.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    row.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    row.querySelectorAll("input").forEach(function (input) {
      var part = input.name === "number_label" ? "label" : "e164";
      var id = "f-numbers-" + index + "-" + part;
      var label = row.querySelector('label[for="' + input.id + '"]');
      if (label) label.htmlFor = id;
      input.id = id;
      input.value = "";
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      input.removeAttribute("autofocus");
    });
  }

  function addRow(button) {
    var rows = button.closest("fieldset").querySelector("[data-rows]");
    var all = rows.querySelectorAll("[data-row]");
    var max = parseInt(button.getAttribute("data-max") || "20", 10);
    if (all.length === 0 || all.length >= max) return;
    var next = parseInt(rows.getAttribute("data-next") || String(all.length), 10);
    var clone = all[all.length - 1].cloneNode(true);
    resetRow(clone, next);
    rows.setAttribute("data-next", String(next + 1));
    rows.appendChild(clone);
    clone.querySelector("input").focus();
    if (all.length + 1 >= max) button.disabled = true;
  }

  function removeRow(button) {
    var row = button.closest("[data-row]");
    var rows = row.parentElement;
    var add = rows.closest("fieldset").querySelector("[data-add-row]");
    if (rows.querySelectorAll("[data-row]").length > 1) {
      var previous = row.previousElementSibling || row.nextElementSibling;
      row.remove();
      previous.querySelector("input").focus();
    } else {
      row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      row.querySelector("input").focus();
    }
    if (add) add.disabled = false;
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var dismiss = target.closest("[data-dismiss]");
    if (dismiss) {
      var alert = dismiss.closest(".alert");
      if (alert) alert.remove();
      return;
    }
    var add = target.closest("[data-add-row]");
    if (add) {
      addRow(add);
      return;
    }
    var remove = target.closest("[data-remove-row]");
    if (remove) removeRow(remove);
  });
})();
