"""The triage console's one page: markup, style and script inline, nothing fetched but the
worker's own ``/console/api/*``.  ``{nonce}`` and ``{style}`` are filled in per response."""

PAGE = """<!doctype html>
<html lang=en><head><meta charset=utf-8><title>DistillWatch triage console</title>
<meta name=viewport content="width=device-width, initial-scale=1">
<style>{style}
body{margin:0;max-width:none}
header{background:#223;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:center}
header h1{font-size:1.15em;margin:0}header .status{font-size:.85em;color:#cde}
main{display:grid;grid-template-columns:minmax(560px,44%) 1fr;gap:0;height:calc(100vh - 3em)}
#list{overflow:auto;border-right:1px solid #ccc;padding:.6em 1em}
#detail{overflow:auto;padding:.6em 1.4em}#detail td{white-space:normal;overflow-wrap:anywhere}
.filters{display:flex;flex-wrap:wrap;gap:.5em;margin:.4em 0 .6em}
.filters input[type=search]{width:14em}
#findings{width:100%}#findings td{white-space:normal}#findings code{font-size:11px}
#findings tr.row{cursor:pointer}#findings tr.row:hover{background:#f5f8ff}
#findings tr.selected{background:#e6eeff}.tag{font-size:11px;padding:0 4px;border-radius:3px;
background:#ddd;margin-left:3px}.tag.dismiss{background:#cfc}.tag.confirm{background:#fcc}
.tag.escalate{background:#fdb}
#decide{border:1px solid #ccd;background:#f7f8fc;padding:.6em .9em;margin:.6em 0;border-radius:4px}
#decide textarea{width:100%;height:3.2em}#decide button{margin-right:.4em}
#signin{display:flex;gap:.4em;align-items:center;font-size:.85em}
#signin input{width:9em}.note{font-size:.85em;color:#555}#outcome{font-size:.9em;margin-top:.4em}
.error{color:#b00}.ok{color:#070}
</style></head><body>
<header><h1>DistillWatch triage console</h1>
<span class=status id=status>connecting…</span>
<span id=signin></span></header>
<main><section id=list>
<div class=filters>
<select id=f-kind aria-label=kind><option value="">every kind</option>
<option value=coordinated_cluster>coordinated cluster</option>
<option value=template_campaign>template campaign</option>
<option value=account_extraction>account extraction</option>
<option value=signature_match>signature match</option></select>
<select id=f-severity aria-label="minimum severity"><option value=0>any severity</option>
<option value=1>medium or worse</option><option value=2>high or worse</option>
<option value=3>critical</option></select>
<input type=search id=f-text placeholder="alert or account id" aria-label=search>
<label><input type=checkbox id=f-open> undecided only</label>
</div>
<table id=findings><thead><tr><th>finding</th><th>severity</th><th>score</th>
<th>members</th><th>rev</th><th>last revision</th></tr></thead><tbody></tbody></table>
<p class=note id=count></p>
</section>
<section id=detail><p class=note>Select a finding to see its timeline, similarity graph,
evidence and members.</p></section></main>
<script nonce="{nonce}">
"use strict";
const state = {data: null, selected: null, shownRevision: null, shownDecisions: 0,
               signinMode: null, decidingOn: null};
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;",
  ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
const creds = () => ({token: sessionStorage.getItem("dw-token") || "",
  analyst: sessionStorage.getItem("dw-analyst") || ""});

function signin() {
  const box = $("signin"), c = creds();
  const mode = !state.data || !state.data.writable ? "none" : (c.token && c.analyst ? "in" : "out");
  if (mode === state.signinMode) return;  // keep what is being typed
  state.signinMode = mode;
  if (mode === "none") { box.innerHTML = ""; return; }
  if (mode === "in") {
    box.innerHTML = `signed in as <b>${esc(c.analyst)}</b> <button id=signout>sign out</button>`;
    $("signout").onclick = () => { sessionStorage.clear(); signin(); showDecide(); };
    return;
  }
  box.innerHTML = `<input id=analyst placeholder="your name" aria-label="analyst name">
    <input id=token type=password placeholder="console token" aria-label="console token">
    <button id=use>sign in</button>`;
  $("use").onclick = () => {
    const analyst = $("analyst").value.trim(), token = $("token").value;
    if (!analyst || !token) return;
    sessionStorage.setItem("dw-analyst", analyst);
    sessionStorage.setItem("dw-token", token);
    signin(); showDecide();
  };
}

function visible(rows) {
  const kind = $("f-kind").value, rank = Number($("f-severity").value);
  const text = $("f-text").value.trim().toLowerCase(), open = $("f-open").checked;
  return rows.filter((r) => (!kind || r.kind === kind) && r.rank >= rank
    && (!open || r.decisions.length === 0)
    && (!text || r.alert_id.toLowerCase().includes(text)
        || r.accounts.some((a) => a.toLowerCase().includes(text))));
}

function render() {
  const data = state.data;
  const stream = data.stream_time ? `stream at ${data.stream_time}` : "no alerts yet";
  $("status").textContent = `${data.findings.length} findings · ${stream} · `
    + `${data.suppressions} suppressions in force`
    + (data.writable ? "" : " · read-only (no console token configured)");
  const rows = visible(data.findings);
  $("findings").tBodies[0].innerHTML = rows.map((r) => `<tr class="row${
      r.alert_id === state.selected ? " selected" : ""}" data-id="${esc(r.alert_id)}">
    <td><code>${esc(r.alert_id)}</code><br><span class=note>${esc(r.kind_label)}</span>${
      r.decisions.map((d) => `<span class="tag ${esc(d)}">${esc(d)}</span>`).join("")}${
      r.suppressed ? '<span class="tag dismiss">suppressed</span>' : ""}</td>
    <td><span class="sev sev-${esc(r.severity)}">${esc(r.severity)}</span></td>
    <td class=num>${esc(r.score)}</td><td class=num>${r.members.toLocaleString("en")}</td>
    <td class=num>${r.revision}</td><td>${esc(r.when)}</td></tr>`).join("");
  $("count").textContent = `${rows.length} of ${data.findings.length} shown`;
  for (const tr of $("findings").tBodies[0].rows) tr.onclick = () => select(tr.dataset.id);
  const chosen = data.findings.find((r) => r.alert_id === state.selected);
  if (chosen && (chosen.revision !== state.shownRevision
                 || chosen.decisions.length !== state.shownDecisions)) select(chosen.alert_id);
}

async function refresh() {
  try {
    const response = await fetch("/console/api/findings", {cache: "no-store"});
    state.data = await response.json();
    render(); signin();
  } catch (err) { $("status").textContent = `worker unreachable: ${err}`; }
}

async function select(id) {
  state.selected = id;
  const row = state.data.findings.find((r) => r.alert_id === id);
  state.shownRevision = row ? row.revision : null;
  state.shownDecisions = row ? row.decisions.length : 0;
  const response = await fetch(`/console/api/finding?alert_id=${encodeURIComponent(id)}`);
  const body = await response.json();
  const same = id === state.decidingOn;
  const reason = $("reason") && same ? $("reason").value : "";
  const outcome = $("outcome") && same ? $("outcome").innerHTML : "";
  $("detail").innerHTML = `<div id=decide></div>${body.html || esc(body.error)}`;
  state.decidingOn = id;
  showDecide(); render();
  if ($("reason")) $("reason").value = reason;
  if ($("outcome")) $("outcome").innerHTML = outcome;
}

function showDecide() {
  const box = $("decide");
  if (!box || !state.selected) return;
  const row = state.data.findings.find((r) => r.alert_id === state.selected);
  const c = creds(), can = state.data.writable && c.token && c.analyst;
  const why = !state.data.writable ? "Read-only: this worker has no console token configured."
    : (can ? `Deciding on revision ${row.revision} as ${esc(c.analyst)}.` : "Sign in to decide.");
  const off = can ? "" : " disabled";
  box.innerHTML = `<b>Decision</b> <span class=note>${why}</span>
    <textarea id=reason placeholder="why (kept in the audit log)"${off}></textarea>
    <button id=confirm${off}>confirm: learn signature</button>
    <button id=dismiss${off}>dismiss as benign</button>
    <select id=action aria-label="manual action"${off}><option>watch</option>
    <option>throttle</option><option selected>degrade</option><option>block</option></select>
    <button id=escalate${off}>escalate action</button><div id=outcome></div>`;
  for (const kind of ["confirm", "dismiss", "escalate"]) $(kind).onclick = () => decide(kind);
}

async function decide(kind) {
  const row = state.data.findings.find((r) => r.alert_id === state.selected);
  const reason = $("reason").value.trim(), c = creds(), out = $("outcome");
  if (!reason) { out.innerHTML = '<span class=error>Give a reason first.</span>'; return; }
  const response = await fetch("/console/api/decisions", {method: "POST",
    headers: {"Content-Type": "application/json", "X-DistillWatch-Console": "1",
              "X-DistillWatch-Token": c.token},
    body: JSON.stringify({decision: kind, alert_id: row.alert_id, revision: row.revision,
                          analyst: c.analyst, reason: reason, action: $("action").value})});
  const body = await response.json();
  if (response.ok) {
    out.innerHTML = `<span class=ok>${esc(kind)} recorded as <code>${esc(body.decision_id)}</code>:
      published <code>${esc(body.result_id)}</code> to ${esc(body.result_topic)}.</span>`;
  } else {
    if (response.status === 403) sessionStorage.removeItem("dw-token");
    out.innerHTML = `<span class=error>${esc(body.error)}</span>`;
  }
  refresh();
}

for (const id of ["f-kind", "f-severity", "f-text", "f-open"]) $(id).oninput = render;
refresh();
setInterval(refresh, 2000);
</script></body></html>
"""
