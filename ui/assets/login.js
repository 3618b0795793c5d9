"use strict";
// The sign-in page says why the last attempt failed; nothing else.
(function () {
  const reasons = {
    token: "That token is not valid here, or its role may not use the dashboard.",
    code: "That sign-in link has expired or was already used. Run skiff dashboard again.",
    form: "The form could not be read. Try again.",
  };
  const why = new URLSearchParams(location.search).get("error");
  if (why && reasons[why]) {
    const p = document.getElementById("error");
    p.textContent = reasons[why];
    p.hidden = false;
  }
})();
