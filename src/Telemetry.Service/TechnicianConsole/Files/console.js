// The technician console (docs/console.md). Plain JavaScript, no build step: reads the path, calls the service's own
// API with the sign-in cookie (or, on the open loopback API, with the name typed in as "by") and polls it every few
// seconds. Every text from the API goes into the page through textContent, never as HTML.
"use strict";

(function () {
  const POLL_MS = 3000;
  const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 };
  const $ = (id) => document.getElementById(id);
  let session = { open: false, name: null, roles: [] };
  let timer = null;

  // ---- the API -------------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail || ("HTTP " + status));
      this.status = status;
    }
  }

  async function api(method, path, body, seen) {
    const headers = { "Accept": "application/json", "X-Console": "1" };
    const init = { method: method, credentials: "same-origin", headers: headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401 && !session.open) {
      // The sign-in ended (expired, signed out, key removed): back to the sign-in, then here again.
      location.assign("/console/sign-in?returnUrl=" + encodeURIComponent(location.pathname + location.search));
      throw new ApiError(401, "signed out");
    }
    if (!response.ok) {
      let detail = "";
      try {
        const problem = await response.json();
        detail = problem.detail || problem.title || "";
      } catch (e) {
        // no problem body
      }
      throw new ApiError(response.status, detail);
    }
    if (seen) seen(response);
    return response.status === 204 ? null : response.json();
  }

  // Every item of a list: the API answers lists a page at a time and names the next page in an RFC 8288 Link header
  // (docs/api.md, "Pagination").
  async function apiAll(path) {
    const items = [];
    let next = path;
    while (next) {
      let link = null;
      items.push(...await api("GET", next, undefined, (r) => { link = r.headers.get("Link"); }));
      const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
      next = m ? m[1] : null;
    }
    return items;
  }

  const seg = encodeURIComponent;
  const alertPath = (a) => "/api/alerts/" + seg(a.sensor) + "/" + seg(a.rule) + "/" + a.raisedAtMs;
  const alertPage = (a) => "/console/alerts/" + seg(a.sensor) + "/" + seg(a.rule) + "/" + a.raisedAtMs;
  const sensorPage = (sensor) => "/console/sensors/" + seg(sensor);

  function byName() {
    if (!session.open) {
      return undefined;
    }
    const name = $("by").value.trim();
    if (!name) {
      $("by").focus();
      throw new ApiError(400, "Type your name first (top right): the open console records it as who acted.");
    }
    localStorage.setItem("console.by", name);
    return name;
  }

  function acknowledge(alert, note) {
    return act(() => api("POST", alertPath(alert) + "/ack", { by: byName(), note: note || null }));
  }

  function clearAlert(alert) {
    return act(() => api("POST", alertPath(alert) + "/clear", { by: byName() }));
  }

  // True when the action was taken; the list is refreshed either way.
  async function act(call) {
    let done = false;
    try {
      await call();
      showStatus(null);
      done = true;
    } catch (e) {
      showStatus(e.message);
    }
    await refresh();
    return done;
  }

  // ---- formatting ----------------------------------------------------------------------------------------------

  function when(ms) {
    return ms == null ? "" : new Date(ms).toLocaleString();
  }

  function ago(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text != null) e.textContent = String(text);
    return e;
  }

  function link(href, text) {
    const a = el("a", null, text);
    a.href = href;
    return a;
  }

  function stateText(a) {
    if (a.state === "cleared") return "cleared by " + (a.clearedBy || "the rule") + " " + when(a.clearedAtMs);
    if (a.state === "acknowledged") {
      return "acknowledged by " + a.acknowledgedBy + (a.acknowledgeNote ? ": “" + a.acknowledgeNote + "”" : "");
    }
    return a.flapping ? "active (flapping)" : "active";
  }

  function showStatus(text) {
    $("status").textContent = text || "";
    $("status").hidden = !text;
  }

  function refreshed() {
    $("refresh").textContent = "updated " + new Date().toLocaleTimeString() + " · every " + POLL_MS / 1000 + " s";
  }

  // ---- the list of active alerts ---------------------------------------------------------------------------------

  function filters() {
    return { building: $("filter-building").value, severity: $("filter-severity").value };
  }

  function syncFilterUrl() {
    const f = filters();
    const query = new URLSearchParams();
    if (f.building) query.set("building", f.building);
    if (f.severity) query.set("severity", f.severity);
    const search = query.toString() ? "?" + query : "";
    history.replaceState(null, "", location.pathname + search);
  }

  function ensureOption(select, value) {
    if (value && ![...select.options].some((o) => o.value === value)) {
      select.append(new Option(value, value));
    }
  }

  // Rows are kept by alert id and updated in place, so a note being typed survives each refresh.
  function renderList(alerts) {
    const f = filters();
    const buildings = $("filter-building");
    [...new Set(alerts.map((a) => a.building))].sort().forEach((b) => ensureOption(buildings, b));
    const shown = alerts
      .filter((a) => (!f.building || a.building === f.building) && (!f.severity || a.severity === f.severity))
      .sort((x, y) => y.raisedAtMs - x.raisedAtMs || (SEVERITY_ORDER[x.severity] - SEVERITY_ORDER[y.severity]));
    const body = $("alerts");
    const existing = new Map([...body.rows].map((r) => [r.dataset.alertId, r]));
    shown.forEach((a) => {
      const row = existing.get(a.id) || newRow(a);
      existing.delete(a.id);
      updateRow(row, a);
      body.append(row); // moves it to its place in the order
    });
    existing.forEach((row) => row.remove());
    $("count").textContent = "(" + shown.length + (shown.length !== alerts.length ? " of " + alerts.length : "") + ")";
    $("empty").hidden = shown.length > 0;
  }

  function newRow(a) {
    const row = el("tr");
    row.dataset.alertId = a.id;
    for (const name of ["severity", "since", "where", "sensor", "rule", "message", "state"]) {
      row.append(el("td", name));
    }
    const action = el("td", "action");
    const note = el("input", "note");
    note.placeholder = "note";
    note.maxLength = 500;
    const ack = el("button", "ack", "Acknowledge");
    ack.type = "button";
    const clear = el("button", "clear", "Clear");
    clear.type = "button";
    ack.addEventListener("click", async () => {
      if (await acknowledge(row.alert, note.value.trim())) note.value = "";
    });
    clear.addEventListener("click", () => clearAlert(row.alert));
    action.append(note, ack, clear);
    row.append(action);
    return row;
  }

  function updateRow(row, a) {
    row.alert = a;
    row.className = "sev-" + a.severity + (a.state === "acknowledged" ? " acknowledged" : "");
    const cell = (name) => row.querySelector("td." + name);
    cell("severity").replaceChildren(el("span", "badge " + a.severity, a.severity));
    cell("since").textContent = ago(a.raisedAtMs);
    cell("since").title = when(a.raisedAtMs);
    cell("where").textContent = a.building + " / " + a.room;
    cell("sensor").replaceChildren(link(sensorPage(a.sensor), a.sensor));
    cell("rule").replaceChildren(link(alertPage(a), a.rule));
    cell("message").textContent = a.message + (a.value != null ? " (value " + a.value + ")" : "");
    cell("state").textContent = stateText(a);
    const acknowledged = a.state === "acknowledged";
    row.querySelector("button.ack").disabled = acknowledged;
    row.querySelector("input.note").hidden = acknowledged;
  }

  // ---- one alert -----------------------------------------------------------------------------------------------

  function alertFromPath(parts) {
    return { sensor: decodeURIComponent(parts[2]), rule: decodeURIComponent(parts[3]), raisedAtMs: Number(parts[4]) };
  }

  function renderFields(dl, pairs) {
    dl.replaceChildren();
    for (const [name, value] of pairs) {
      if (value == null || value === "") continue;
      dl.append(el("dt", null, name));
      const dd = el("dd");
      if (value instanceof Node) dd.append(value); else dd.textContent = String(value);
      dl.append(dd);
    }
  }

  function renderAlert(a) {
    $("alert-title").textContent = a.severity + " · " + a.rule + " on " + a.sensor;
    document.title = a.rule + " on " + a.sensor + " · Campus Telemetry console";
    renderFields($("alert-fields"), [
      ["Id", a.id], ["State", stateText(a)], ["Severity", a.severity], ["Message", a.message], ["Value", a.value],
      ["Raised", when(a.raisedAtMs) + " (" + ago(a.raisedAtMs) + ")"], ["Building / room", a.building + " / " + a.room],
      ["Sensor", link(sensorPage(a.sensor), a.sensor)], ["Rule type", a.ruleType],
      ["Acknowledged", a.acknowledgedAtMs ? when(a.acknowledgedAtMs) + " by " + a.acknowledgedBy : null],
      ["Note", a.acknowledgeNote], ["Cleared", a.clearedAtMs ? when(a.clearedAtMs) + " by " + (a.clearedBy || "the rule") : null],
      ["Flapping", a.flapping ? "yes" : null],
    ]);
    $("alert-actions").hidden = a.state === "cleared";
    $("alert-ack").disabled = a.state !== "active";
    $("alert-note").hidden = a.state !== "active";
  }

  // ---- one sensor ----------------------------------------------------------------------------------------------

  function renderSensor(sensor, view, alerts) {
    $("sensor-title").textContent = "Sensor " + sensor;
    const offline = alerts.find((a) => a.state !== "cleared" && a.ruleType === "offline");
    const online = $("sensor-online");
    online.className = offline ? "offline" : "online";
    online.textContent = offline
      ? "offline since " + when(offline.raisedAtMs) + " (" + offline.message + ")"
      : view ? "online · last seen " + ago(Date.parse(view.lastSeenAt)) : "not seen since the service started";
    if (view) {
      renderFields($("sensor-fields"), [
        ["Building / room", view.building + " / " + view.room], ["Last reading", when(Date.parse(view.lastReadingAt))],
        ["Last seen", when(Date.parse(view.lastSeenAt))], ["Messages", view.messages], ["Readings", view.readings],
      ]);
      $("sensor-values").replaceChildren(...Object.keys(view.values).sort().map((k) => {
        const tr = el("tr");
        tr.append(el("th", null, k), el("td", null, view.values[k]));
        return tr;
      }));
    }
    $("sensor-alerts").replaceChildren(...alerts.map((a) => {
      const tr = el("tr", "sev-" + a.severity);
      const sev = el("td");
      sev.append(el("span", "badge " + a.severity, a.severity));
      const rule = el("td");
      rule.append(link(alertPage(a), a.rule));
      tr.append(sev, el("td", null, when(a.raisedAtMs)), rule, el("td", null, a.message), el("td", null, stateText(a)));
      return tr;
    }));
  }

  // ---- routing and polling -------------------------------------------------------------------------------------

  const parts = location.pathname.split("/").filter((p) => p.length > 0);
  const view = parts[1] === "alerts" && parts.length === 5 ? "alert" : parts[1] === "sensors" && parts.length === 3 ? "sensor" : "list";

  async function refresh() {
    try {
      if (view === "list") {
        renderList(await apiAll("/api/alerts?limit=1000"));
      } else if (view === "alert") {
        const a = alertFromPath(parts);
        try {
          renderAlert(await api("GET", alertPath(a)));
        } catch (e) {
          if (e.status !== 404) throw e;
          $("alert-title").textContent = "Alert " + a.sensor + "/" + a.rule + "/" + a.raisedAtMs + " is not known (or no longer among the recent ones)";
          $("alert-actions").hidden = true;
        }
      } else {
        const sensor = decodeURIComponent(parts[2]);
        let sensorView = null;
        try {
          sensorView = await api("GET", "/api/sensors/" + seg(sensor));
        } catch (e) {
          if (e.status !== 404) throw e;
        }
        const [active, recent] = await Promise.all([apiAll("/api/alerts?limit=1000"), api("GET", "/api/alerts?state=recent&limit=1000")]);
        const mine = active.concat(recent).filter((a) => a.sensor === sensor).sort((x, y) => y.raisedAtMs - x.raisedAtMs);
        renderSensor(sensor, sensorView, mine);
      }
      refreshed();
      if ($("status").dataset.kind === "poll") showStatus(null);
    } catch (e) {
      if (e.status !== 401) {
        showStatus("Could not refresh: " + e.message);
        $("status").dataset.kind = "poll";
      }
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      await refresh();
      schedule();
    }, POLL_MS);
  }

  async function start() {
    try {
      const s = await api("GET", "/console/session");
      session = s;
    } catch (e) {
      showStatus("Could not start: " + e.message);
      return;
    }
    if (session.open) {
      $("by-label").hidden = false;
      $("by").value = localStorage.getItem("console.by") || "";
      $("whoami").textContent = "open API (loopback):";
    } else {
      $("whoami").textContent = "signed in as " + session.name + " (" + session.roles.join(", ") + ")";
      $("sign-out").hidden = false;
      $("sign-out").addEventListener("click", async () => {
        await fetch("/console/sign-out", { method: "POST", credentials: "same-origin", headers: { "X-Console": "1" } });
        location.assign("/console/sign-in");
      });
    }
    if (view === "list") {
      const query = new URLSearchParams(location.search);
      ensureOption($("filter-building"), query.get("building"));
      $("filter-building").value = query.get("building") || "";
      $("filter-severity").value = query.get("severity") || "";
      for (const id of ["filter-building", "filter-severity"]) {
        $(id).addEventListener("change", () => { syncFilterUrl(); refresh(); });
      }
    } else if (view === "alert") {
      $("alert-ack").addEventListener("click", async () => {
        if (await acknowledge(alertFromPath(parts), $("alert-note").value.trim())) $("alert-note").value = "";
      });
      $("alert-clear").addEventListener("click", () => clearAlert(alertFromPath(parts)));
    }
    $(view + "-view").hidden = false;
    await refresh();
    schedule();
  }

  start();
})();
