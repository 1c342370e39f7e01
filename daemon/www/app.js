// The Flashline dashboard: probe tiles, jobs and a live feed from the /v1
// API and its event stream (docs/api.md), and an audit search. No framework
// and no requests beyond this daemon, so it works on a line with no internet.
'use strict';

const POLL_MS = 3000; // events keep tiles current; the poll repairs what a dropped stream missed
const FEED_MAX = 60;
const AUDIT_DETAILS_MAX = 20; // units whose timelines are fetched per search

const probes = new Map(); // serial -> probe object as the API gives it
const jobs = new Map(); // id -> job object
const unitSteps = new Map(); // unit id -> recovery steps seen (current units only)
const releaseErrors = new Map(); // serial -> message of the last failed release
let eventCount = 0;

// ---- small helpers ---------------------------------------------------------

// Builds elements with text content only: quarantine reasons and errors are
// free text, never markup.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids) {
    if (kid === null || kid === undefined || kid === false) continue;
    e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return e;
}

function pad(n) {
  return String(n).padStart(2, '0');
}

// Local wall-clock time of an ISO time: the operator's clock, not UTC.
function hms(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function dateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms(iso)}`;
}

function token() {
  try {
    return localStorage.getItem('flashline.token') || '';
  } catch (e) {
    return '';
  }
}

// A /v1 request; resolves to the JSON body, rejects with an Error whose
// message is the API's own ("401 unauthorized: writes on the TCP ...").
async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && token()) headers.Authorization = 'Bearer ' + token();
  const r = await fetch(path, {
    method, headers, cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let j = null;
  try {
    j = await r.json();
  } catch (e) {
    // an error page that is not JSON: the status says enough
  }
  if (!r.ok) {
    const err = j && j.error ? j.error : {code: r.statusText, message: ''};
    const e = new Error(`${r.status} ${err.code}${err.message ? ': ' + err.message : ''}`);
    e.status = r.status;
    throw e;
  }
  return j;
}

// ---- probe tiles -------------------------------------------------------------

// The status colour and the big word. A fixture waiting after a unit shows
// that unit's result, since that is what the operator acts on: green, take
// the good board off; red, put the bad one aside.
function look(p) {
  switch (p.state) {
    case 'programming':
    case 'verifying':
      return {c: 'green', word: p.state, hint: ''};
    case 'waiting':
      if (p.last_result === 'ok') return {c: 'green', word: 'ok', hint: 'swap the board'};
      if (p.last_result === 'failed') return {c: 'red', word: 'failed', hint: 'take the board off'};
      return {c: 'amber', word: 'waiting', hint: 'put a board on'};
    case 'connecting':
      return {c: 'amber', word: 'connecting', hint: ''};
    case 'recovering':
      return {c: 'amber', word: 'recovering', hint: ''};
    case 'quarantined':
      return {c: 'red', word: 'quarantined', hint: 'needs attention'};
    case 'audit-blocked':
      // The board's result is not in the audit log yet: the station starts
      // no unit until the database takes writes again (disk full?).
      return {c: 'red', word: 'audit blocked', hint: 'free space on the database disk'};
    case 'gone':
      return {c: 'grey', word: 'gone', hint: 'probe unplugged'};
    default:
      return {c: 'grey', word: p.state || 'idle', hint: ''};
  }
}

function tile(p) {
  const l = look(p);
  const busy = p.unit !== null && p.unit !== undefined;
  const steps = busy ? unitSteps.get(p.unit) || 0 : 0;
  const t = el('article', {
    class: `tile c-${l.c}`, 'data-serial': p.serial, 'data-state': p.state,
    'data-colour': l.c, title: p.serial,
  },
  el('div', {class: 'state', text: l.word.toUpperCase()}),
  el('div', {class: 'hint', text: l.hint}),
  el('div', {class: 'serial', text: p.serial}),
  el('div', {class: 'line chip', text: [p.chip || 'no chip yet', p.job ? `job ${p.job}` : '']
    .filter(Boolean).join(' \u00b7 ')}));
  if (busy) {
    t.append(el('div', {class: 'line current'}, `unit ${p.unit}`,
      p.uid ? el('span', {}, ' \u00b7 UID ', el('a', {href: '#uid=' + p.uid, text: p.uid})) : null));
    const pct = Math.max(0, Math.min(100, p.progress || 0));
    t.append(el('div', {class: 'bar', 'data-progress': pct},
      el('div', {style: `width:${pct}%`})));
    t.append(el('div', {class: 'line steps', 'data-steps': steps,
      text: `${pct}% \u00b7 ${steps} recovery step${steps === 1 ? '' : 's'}`}));
  }
  if (p.last_result) {
    t.append(el('div', {class: 'line last', 'data-result': p.last_result,
      text: `last: ${p.last_result} at ${hms(p.last_at)}`}));
  }
  t.append(el('div', {class: 'line counts', text: [p.kind,
    `${p.units_ok || 0} ok \u00b7 ${p.units_failed || 0} failed`].filter(Boolean).join(' \u00b7 ')}));
  if (p.state === 'quarantined') {
    const box = el('div', {class: 'quarantine'},
      el('div', {class: 'reason', text: p.quarantine_reason || 'no reason given'}),
      el('button', {type: 'button', class: 'release', onclick: (ev) => release(p.serial, ev.target),
        text: 'Release'}));
    const err = releaseErrors.get(p.serial);
    if (err) {
      const e = el('div', {class: 'err', role: 'alert', text: `Release refused: ${err}`});
      if (/^401/.test(err)) {
        e.append(' ', el('a', {href: '#', onclick: (ev) => {
          ev.preventDefault();
          askToken();
        }, text: 'Enter the token'}));
      }
      box.append(e);
    }
    t.append(box);
  }
  return t;
}

function renderTiles() {
  const box = document.getElementById('tiles');
  const list = [...probes.values()].sort((a, b) => a.serial.localeCompare(b.serial));
  box.replaceChildren(...list.map(tile));
  if (list.length === 0) box.append(el('p', {class: 'muted', text: 'No probes connected.'}));
}

async function release(serial, button) {
  button.disabled = true;
  try {
    const p = await api('POST', `/v1/probes/${encodeURIComponent(serial)}/release`, {});
    releaseErrors.delete(serial);
    probes.set(p.serial, p);
  } catch (e) {
    releaseErrors.set(serial, e.message);
  }
  renderTiles();
}

// The TCP listener is read-only unless the daemon has an http_token; an
// operator who has it can give it once per browser.
function askToken() {
  const t = prompt('The daemon\'s http_token (kept in this browser only):', token());
  if (t === null) return;
  try {
    localStorage.setItem('flashline.token', t.trim());
  } catch (e) {
    // private mode: the token simply is not kept
  }
}

// ---- jobs ----------------------------------------------------------------------

function pct(n, d) {
  return d > 0 ? `${(100 * n / d).toFixed(1)}%` : '\u2013';
}

function unitsPerHour(j) {
  const start = Date.parse(j.created_at);
  const end = j.finished_at ? Date.parse(j.finished_at) : Date.now();
  const h = (end - start) / 3600e3;
  return h > 0 && j.ok > 0 ? Math.round(j.ok / h) : 0;
}

function renderJobs() {
  // Running and paused jobs first, then the latest few that ended.
  const all = [...jobs.values()].sort((a, b) => b.id - a.id);
  const live = all.filter((j) => j.state === 'running' || j.state === 'paused');
  const ended = all.filter((j) => !live.includes(j)).slice(0, 5);
  const rows = [...live, ...ended].map((j) => {
    const target = j.continuous ? '\u221e' : j.count;
    return el('tr', {'data-job': j.id, 'data-state': j.state, 'data-ok': j.ok},
      el('td', {text: j.name ? `${j.id} \u00b7 ${j.name}` : String(j.id)}),
      el('td', {text: j.state + (j.in_flight ? ` (${j.in_flight} in flight)` : '')}),
      el('td', {text: j.chip || j.family || ''}),
      el('td', {class: 'n ok', text: `${j.ok} / ${target}`}),
      el('td', {class: j.failed ? 'n bad' : 'n', text: j.failed}),
      el('td', {class: 'n', text: j.interrupted}),
      // Yield counts the boards' verdicts: an interrupted unit says nothing
      // about its board.
      el('td', {class: 'n', title: 'ok / (ok + failed)', text: pct(j.ok, j.ok + j.failed)}),
      el('td', {class: 'n', title: 'ok units per hour since the job started',
        text: unitsPerHour(j)}));
  });
  document.getElementById('jobs-body').replaceChildren(...rows);
  document.getElementById('no-jobs').hidden = rows.length > 0;
}

// ---- live feed ---------------------------------------------------------------------

// One line of the feed, stamped with the event's own time ("at").
function feed(at, kind, cls, ...parts) {
  const ol = document.getElementById('feed');
  ol.prepend(el('li', {'data-kind': kind, class: cls},
    el('span', {class: 't', text: hms(at || new Date().toISOString())}), ...parts));
  while (ol.children.length > FEED_MAX) ol.lastChild.remove();
}

function unitLink(u) {
  return el('a', {href: '#unit=' + u, text: `unit ${u}`});
}

const resultClass = {ok: 'ok', failed: 'bad', interrupted: 'warn'};

const onEvent = {
  probe(p) {
    const old = probes.get(p.serial);
    probes.set(p.serial, p);
    if (!old || old.state !== p.state) {
      const l = look(p);
      feed(p.at, 'probe', l.c === 'red' ? 'bad' : l.c === 'amber' ? 'warn' : '',
        `${p.serial}: ${p.state}`,
        p.quarantine_reason && p.state === 'quarantined' ? ` (${p.quarantine_reason})` : '');
    }
    renderTiles();
  },
  job(j) {
    const old = jobs.get(j.id);
    jobs.set(j.id, j);
    if (!old || old.state !== j.state) feed(j.at, 'job', '', `job ${j.id}: ${j.state}`);
    renderJobs();
  },
  unit(u) {
    if (u.result === 'in_flight') {
      feed(u.at, 'unit', '', unitLink(u.id), ` started on ${u.probe}`);
    } else {
      feed(u.at, 'unit', resultClass[u.result] || '', unitLink(u.id),
        ` ${u.result}`, u.serial_number ? ` (serial ${u.serial_number})` : '',
        ` on ${u.probe}`, u.error ? `: ${u.error}` : '');
    }
    if (typeof u.recovery_steps === 'number') {
      unitSteps.set(u.id, Math.max(unitSteps.get(u.id) || 0, u.recovery_steps));
    }
  },
  attempt(a) {
    if (a.n > 1 || (a.result && a.result !== 'ok')) {
      feed(a.at, 'attempt', a.result === 'failed' ? 'bad' : '', unitLink(a.unit),
        ` attempt ${a.n}${a.result ? ' ' + a.result : ''}`, a.error ? `: ${a.error}` : '');
    }
  },
  recovery(r) {
    // Without a unit the probe itself needed help while waiting for a board.
    if (r.unit) unitSteps.set(r.unit, (unitSteps.get(r.unit) || 0) + 1);
    feed(r.at, 'recovery', r.ok ? 'warn' : 'bad', r.unit ? unitLink(r.unit) : r.probe,
      ` recovery: ${r.step}`, r.ok ? '' : ' (did not help)');
    renderTiles();
  },
  progress(e) {
    const p = probes.get(e.probe);
    if (!p) return;
    p.progress = e.progress;
    // Only the bar moves: rebuilding every tile 10 times a second per probe
    // would be wasted work on a small line PC.
    const t = document.querySelector(`.tile[data-serial="${CSS.escape(e.probe)}"] .bar`);
    if (t) {
      t.dataset.progress = e.progress;
      t.firstChild.style.width = `${e.progress}%`;
    }
  },
};

function connectEvents() {
  const conn = document.getElementById('conn');
  const es = new EventSource('/v1/events');
  es.onopen = () => {
    conn.dataset.conn = 'live';
    conn.textContent = 'live';
    refresh(); // whatever happened while the stream was down
  };
  es.onerror = () => {
    // EventSource reconnects by itself.
    conn.dataset.conn = 'reconnecting';
    conn.textContent = 'reconnecting';
  };
  for (const kind of Object.keys(onEvent)) {
    es.addEventListener(kind, (m) => {
      let data;
      try {
        data = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      eventCount++;
      const c = document.getElementById('feed-count');
      c.dataset.count = eventCount;
      c.textContent = `${eventCount} events`;
      onEvent[kind](data);
    });
  }
}

// ---- polling ------------------------------------------------------------------------

let refreshing = false;

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  const banner = document.getElementById('banner');
  try {
    const [pj, jj] = await Promise.all([api('GET', '/v1/probes'), api('GET', '/v1/jobs')]);
    probes.clear();
    for (const p of pj.probes) probes.set(p.serial, p);
    jobs.clear();
    for (const j of jj.jobs) jobs.set(j.id, j);
    // Recovery steps of the units on the fixtures now, from the audit log,
    // so a reloaded page shows them too.
    const current = new Set(pj.probes.map((p) => p.unit).filter((u) => u !== null));
    for (const u of [...unitSteps.keys()]) if (!current.has(u)) unitSteps.delete(u);
    await Promise.all([...current].map(async (id) => {
      try {
        const u = await api('GET', `/v1/units/${id}`);
        const n = u.attempts.reduce((s, a) => s + a.recovery.length, 0);
        unitSteps.set(id, Math.max(unitSteps.get(id) || 0, n));
      } catch (e) {
        // ended and gone between the two requests: the next poll settles it
      }
    }));
    banner.hidden = true;
    renderTiles();
    renderJobs();
  } catch (e) {
    banner.textContent = `The daemon is not answering (${e.message}); retrying.`;
    banner.hidden = false;
  } finally {
    refreshing = false;
  }
}

// ---- audit ------------------------------------------------------------------------

function attemptItems(a) {
  const items = [el('li', {class: 'attempt'},
    el('span', {class: 't', text: dateTime(a.started_at)}), `attempt ${a.n} started`)];
  for (const r of a.recovery) {
    items.push(el('li', {class: `step ${r.ok ? 'warn' : 'bad'}`, 'data-step': r.step},
      el('span', {class: 't', text: hms(r.at)}), `recovery: ${r.step}`,
      r.ok ? ' \u2014 ok' : ' \u2014 did not help'));
  }
  const cls = resultClass[a.result] || '';
  items.push(el('li', {class: `end ${cls}`, 'data-result': a.result},
    el('span', {class: 't', text: a.finished_at ? hms(a.finished_at) : '\u2026'}),
    `attempt ${a.n}: ${a.result}`, a.state ? ` in ${a.state}` : '',
    a.error ? ` \u2014 ${a.error}` : ''));
  return items;
}

function unitCard(u, detail) {
  const card = el('article', {class: 'unit', 'data-unit': u.id, 'data-result': u.result},
    el('h3', {}, `Unit ${u.id}: `,
      el('span', {class: resultClass[u.result] === 'bad' ? 'bad' : '', text: u.result})),
    el('div', {class: 'meta', text: [
      `UID ${u.uid}`, u.serial_number ? `serial ${u.serial_number}` : null, u.chip,
      `job ${u.job}`, `probe ${u.probe}`, dateTime(u.started_at),
      `${detail ? detail.attempts.length : u.attempts} attempt(s)`,
      `${u.recovery_steps} recovery step(s)`,
    ].filter(Boolean).join(' \u00b7 ')}));
  if (u.error) card.append(el('div', {class: 'err', text: u.error}));
  if (detail) {
    card.append(el('ol', {class: 'timeline'}, ...detail.attempts.flatMap(attemptItems)));
  }
  return card;
}

async function audit(by, q) {
  const status = document.getElementById('audit-status');
  const out = document.getElementById('audit-results');
  out.replaceChildren();
  document.getElementById('audit-by').value = by === 'unit' ? 'uid' : by;
  document.getElementById('audit-q').value = by === 'unit' ? '' : q;
  status.textContent = 'Searching\u2026';
  try {
    let units;
    if (by === 'unit') {
      units = [await api('GET', `/v1/units/${encodeURIComponent(q)}`)];
    } else {
      const r = await api('GET', `/v1/units?${by}=${encodeURIComponent(q)}&limit=100`);
      units = r.units;
    }
    status.textContent = units.length === 0 ? `No unit with ${by} ${q}.` :
      `${units.length} unit${units.length === 1 ? '' : 's'} with ${by} ${q}, newest first.`;
    const details = await Promise.all(units.map((u, i) => {
      if (Array.isArray(u.attempts)) return u; // /v1/units/ID gave them already
      if (i >= AUDIT_DETAILS_MAX) return null;
      return api('GET', `/v1/units/${u.id}`).catch(() => null);
    }));
    out.replaceChildren(...units.map((u, i) => {
      const d = details[i];
      const flat = d ? Object.assign({}, u, {attempts: d.attempts.length}) : u;
      return unitCard(flat, d);
    }));
  } catch (e) {
    status.textContent = `Search failed: ${e.message}`;
  }
}

// ---- views -------------------------------------------------------------------------

// The hash is the view, so an audit search is a link one can share or reload:
// #audit, #uid=UID, #serial=N, #unit=ID; anything else is the line.
function route() {
  const h = decodeURIComponent(location.hash.slice(1));
  const m = /^(uid|serial|unit)=(.+)$/.exec(h);
  const auditView = h === 'audit' || m !== null;
  document.getElementById('line-view').hidden = auditView;
  document.getElementById('audit-view').hidden = !auditView;
  document.getElementById('nav-line').classList.toggle('active', !auditView);
  document.getElementById('nav-audit').classList.toggle('active', auditView);
  if (m) audit(m[1], m[2].trim());
}

document.getElementById('audit-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const by = document.getElementById('audit-by').value;
  let q = document.getElementById('audit-q').value.trim();
  // UIDs are stored in upper-case hex; people type them any way.
  if (by === 'uid' && /^[0-9a-f]+$/i.test(q)) q = q.toUpperCase();
  const want = `#${by}=${encodeURIComponent(q)}`;
  if (location.hash === want) route(); // same search again: hashchange would not fire
  else location.hash = want;
});

window.addEventListener('hashchange', route);

function tick() {
  const d = new Date();
  document.getElementById('clock').textContent =
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

route();
tick();
setInterval(tick, 1000);
refresh();
setInterval(refresh, POLL_MS);
connectEvents();
