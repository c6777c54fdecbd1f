/* The passenger's name and phone on the booking form (/ride): checked before booking, each
 * field with its own message, in the rules the server keeps (hexfleet.rides.passengers). */

const PHONE_CHARS = /^\+?[0-9 ()./-]+$/;

/** What is wrong with a phone number a driver should call, or "" when nothing is. */
export function phoneProblem(phone) {
  const digits = phone.replace(/\D/g, "").length;
  if (!phone) return "Enter a phone number the driver can call.";
  if (!PHONE_CHARS.test(phone) || digits < 6 || digits > 15) {
    return "Use digits, spaces and an optional leading + (6 to 15 digits).";
  }
  return "";
}

/**
 * options: name, phone (the inputs), nameMessage, phoneMessage, say(el, text).
 * Returns {check()}: true when both are fine, else each field says why (aria-invalid set) and
 * check() is false. A message goes as soon as the rider types in its field.
 */
export function passengerFields({ name, phone, nameMessage, phoneMessage, say }) {
  [
    [name, nameMessage],
    [phone, phoneMessage],
  ].forEach(([input, message]) => {
    input.addEventListener("input", () => {
      if (message.textContent) {
        say(message, "");
        input.setAttribute("aria-invalid", "false");
      }
    });
  });

  function check() {
    say(nameMessage, name.value.trim() ? "" : "Enter the passenger's name.");
    say(phoneMessage, phoneProblem(phone.value.trim()));
    name.setAttribute("aria-invalid", nameMessage.textContent ? "true" : "false");
    phone.setAttribute("aria-invalid", phoneMessage.textContent ? "true" : "false");
    return !nameMessage.textContent && !phoneMessage.textContent;
  }

  return { check };
}
