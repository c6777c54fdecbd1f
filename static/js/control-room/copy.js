/* Copy buttons ("Connect a phone"): every value a dispatcher copies onto a phone (token, device
 * id, URLs, sign-in link) gets one; the markup stays as the server rendered it. */

import { toast } from "./toast.js";

export function addCopyButtons(root) {
  (root || document).querySelectorAll("code.copyable, code[data-token]").forEach(function (code) {
    if (!code.closest("#control-room")) return;
    var next = code.nextElementSibling;
    if (next && next.classList.contains("copy-btn")) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-btn";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy " + copyLabel(code));
    code.insertAdjacentElement("afterend", button);
  });
}

function copyLabel(code) {
  var holder = code.closest("div, p");
  var label = holder && holder.querySelector("dt, .secret-label");
  return label ? label.textContent.trim().toLowerCase() : "value";
}

function copyText(code) {
  var text = code.textContent.trim();
  var viaSelection = function () {
    var range = document.createRange();
    range.selectNodeContents(code);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (e) {
      copied = false;
    }
    return copied ? "copied" : "selected";
  };
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text).then(
      function () {
        return "copied";
      },
      function () {
        return viaSelection();
      },
    );
  }
  return Promise.resolve(viaSelection());
}

export function startCopyButtons() {
  addCopyButtons(document);
  document.addEventListener("click", onCopyClick);
}

function onCopyClick(event) {
  var button = event.target.closest(".copy-btn");
  if (!button) return;
  var code = button.previousElementSibling;
  if (!code) return;
  var what = copyLabel(code);
  copyText(code).then(function (result) {
    var copied = result === "copied";
    button.textContent = copied ? "Copied" : "Selected";
    button.classList.toggle("is-done", true);
    toast(copied ? "Copied the " + what + "." : "The " + what + " is selected: press Ctrl+C (\u2318C on a Mac) to copy it.");
    window.setTimeout(function () {
      button.textContent = "Copy";
      button.classList.remove("is-done");
    }, 2000);
  });
}
