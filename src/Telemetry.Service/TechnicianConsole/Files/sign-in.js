// Sign-in of the technician console: the key or token goes once, in a header, to POST /console/sign-in, which checks
// it like any API call and answers with the console's sign-in cookie. Nothing is stored by this page.
"use strict";

(function () {
  const form = document.getElementById("sign-in-form");
  const input = document.getElementById("key");
  const error = document.getElementById("error");

  // Only a path of this console is followed after the sign-in (no open redirect).
  function returnUrl() {
    const wanted = new URLSearchParams(location.search).get("returnUrl");
    return wanted && wanted.startsWith("/console") && !wanted.startsWith("//") ? wanted : "/console";
  }

  // Three base64url parts separated by dots: a JWT; anything else is an API key.
  function authorization(credential) {
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(credential) ? "Bearer " + credential : "ApiKey " + credential;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    error.hidden = true;
    const credential = input.value.trim();
    if (!credential) {
      return;
    }
    let response;
    try {
      response = await fetch("/console/sign-in", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Authorization": authorization(credential), "X-Console": "1", "Accept": "application/json" },
      });
    } catch (e) {
      showError("The service did not answer: " + e.message);
      return;
    }
    if (response.ok) {
      input.value = "";
      location.assign(returnUrl());
      return;
    }
    let detail = "";
    try {
      detail = (await response.json()).detail || "";
    } catch (e) {
      // no problem body
    }
    if (response.status === 403) {
      showError("This key or token may not use the console: it needs the technician or admin role. " + detail);
    } else if (response.status === 401) {
      showError("Not accepted: " + (detail || "unknown key or invalid token"));
    } else {
      showError("Sign-in failed (" + response.status + "): " + detail);
    }
  });

  function showError(text) {
    error.textContent = text;
    error.hidden = false;
  }
})();
