/**
 * The status page, as a string in a .ts module: tsc copies no other file
 * type into dist/, and a page read from disk at run time would go missing in
 * a packaged install. Plain HTML and a little JS that polls the JSON API every
 * two seconds; every value is inserted with textContent, never as HTML.
 */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>netboot status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; }
  h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #ddd; vertical-align: top; }
  th { background: #f4f4f4; }
  .muted { color: #777; }
  .ok { color: #1a7f37; } .harmless { color: #9a6700; } .failure { color: #cf222e; font-weight: 600; }
  progress { width: 12em; }
  #error { color: #cf222e; }
  code { font-size: .95em; }
</style>
</head>
<body>
<h1>netboot</h1>
<div id="summary" class="muted">loading…</div>
<div id="error"></div>

<h2>Hosts</h2>
<table id="hosts"><thead><tr><th>host</th><th>MAC</th><th>profile</th><th>address</th><th>boot once</th><th>last seen</th><th>last event</th></tr></thead><tbody></tbody></table>

<h2>Active transfers</h2>
<table id="transfers"><thead><tr><th>service</th><th>client</th><th>file</th><th>progress</th><th>bytes</th></tr></thead><tbody></tbody></table>
<div id="no-transfers" class="muted">none</div>

<h2>Recent events</h2>
<table id="events"><thead><tr><th>time</th><th>kind</th><th>host / MAC</th><th>address</th><th>message</th></tr></thead><tbody></tbody></table>

<script>
"use strict";
const REFRESH_MS = 2000;

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function fill(tableId, rows) {
  const body = document.querySelector("#" + tableId + " tbody");
  body.replaceChildren(...rows);
}

function row(cells, id) {
  const tr = document.createElement("tr");
  if (id) tr.dataset.id = id;
  tr.append(...cells);
  return tr;
}

function ago(ms) {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 90) return s + " s ago";
  if (s < 5400) return Math.round(s / 60) + " min ago";
  return new Date(ms).toLocaleString();
}

function bytes(n) {
  if (n == null) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

async function refresh() {
  try {
    const [status, hosts, transfers, events] = await Promise.all([
      getJson("/api/status"), getJson("/api/hosts"), getJson("/api/transfers"), getJson("/api/events?limit=50"),
    ]);
    const services = Object.entries(status.services || {}).map(([name, s]) => name + ": " + s.state).join(", ");
    document.getElementById("summary").textContent =
      "up " + status.uptimeS + " s · config " + status.config.file + " (sha256 " + status.config.sha256.slice(0, 12) + "…) · " + services;

    fill("hosts", hosts.hosts.map((h) => row([
      cell(h.name), cell(h.mac), cell(h.profile || "(default)"),
      cell((h.lease && h.lease.ip) || h.reservedIp || ""),
      cell(h.bootOnce === null ? "—" : h.bootOnce === "done" ? "done, boots locally" : "armed, installs next boot", h.bootOnce === "done" ? "muted" : ""),
      cell(ago(h.lastSeenAt)),
      cell(h.lastEvent ? h.lastEvent.kind + ": " + h.lastEvent.message : "", h.lastEvent ? h.lastEvent.outcome : ""),
    ], h.name)));

    fill("transfers", transfers.transfers.map((t) => {
      const bar = document.createElement("progress");
      if (t.size) { bar.max = t.size; bar.value = t.bytesDone; }
      const td = document.createElement("td");
      td.append(bar);
      return row([cell(t.service), cell(t.client + (t.mac ? " (" + t.mac + ")" : "")), cell(t.file), td,
        cell(bytes(t.bytesDone) + " / " + bytes(t.size))], String(t.id));
    }));
    document.getElementById("no-transfers").hidden = transfers.transfers.length > 0;

    fill("events", events.events.slice().reverse().map((e) => row([
      cell(new Date(e.time).toLocaleTimeString()), cell(e.kind, e.outcome),
      cell(e.host || e.mac || ""), cell(e.ip || ""), cell(e.message + (e.outcome === "harmless" ? " (harmless)" : ""), e.outcome),
    ])));
    document.getElementById("error").textContent = "";
  } catch (error) {
    document.getElementById("error").textContent = "cannot reach the API: " + error.message;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
</script>
</body>
</html>
`;
