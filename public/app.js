// The page's one script: plain DOM, no framework. It calls the service's API as any client does (with the bearer token
// pasted into the page, if the service asks for one) and draws nothing from strings as HTML: names in a topology are the
// user's, so they reach the page as text nodes only; the trace diagram is the API's own SVG, parsed as XML.

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'pathtrace-token';
const MAX_WHATIF_FLOWS = 10000;
// A cell is a table cell with its label: past this many pods on a side the table would hold more cells than a page draws
// quickly, and more than anyone reads. A larger matrix is shown as an overview of groups first, each opened in turn.
const MAX_DRAWN_PODS = 400;
// The most groups on a side of an overview; more (a thousand nodes) are gathered into runs of neighbouring groups.
const MAX_GROUPS = 40;
// Pods that no namespace or node tells apart are shown in slices of this many, by name.
const SLICE = 200;

const state = {
  topology: '',
  revision: '', // '' is the newest
  revisions: [],
  matrix: null, // the letters answer
  transport: {}, // the protocol and port the matrix was asked for
  zoom: [], // the views opened from the overview, innermost last: {rows, cols, title} of endpoint indices
  view: null, // what is drawn: {rows, cols} in display order, and the groups when it is an overview
  marks: new Map(), // "i,j" -> text saying what changed for that pair
  answer: null, // the trace without its prose (detail=hops): what the diagram needs
  full: null, // the same trace with every explanation, fetched when a hop is first opened
  traceUrl: '',
};

// ---- talking to the API ----

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path, { method = 'GET', body, as = 'json' } = {}) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) {
    let detail = `${res.status} ${res.statusText}`;
    try {
      const problem = await res.json();
      detail = problem.detail || problem.title || detail;
    } catch {
      // not a problem document: the status says it
    }
    throw new ApiError(res.status, detail);
  }
  return as === 'json' ? res.json() : res.text();
}

const enc = encodeURIComponent;
const topologyPath = (suffix = '') => `/v1/topologies/${enc(state.topology)}${suffix}`;
const revisionQuery = () => (state.revision ? `revision=${enc(state.revision)}` : '');

function showError(err) {
  const box = $('error');
  if (err === null) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  box.hidden = false;
  box.textContent =
    err instanceof ApiError && err.status === 401
      ? `The service asks for a token: paste one in "Bearer token" above. (${err.message})`
      : err instanceof ApiError && err.status === 403
        ? `This token may not do that. (${err.message})`
        : `${err.message}`;
  if (err instanceof ApiError && err.status === 401) $('token').focus();
}

/** Runs an action, showing what went wrong in the alert box rather than in the console. */
const guarded = (action) => async (event) => {
  event?.preventDefault();
  try {
    showError(null);
    await action(event);
  } catch (err) {
    showError(err);
  }
};

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

// ---- the URL holds the query, so that a link can be shared ----

function writeUrl(extra) {
  const params = new URLSearchParams();
  if (state.topology) params.set('topology', state.topology);
  if (state.revision) params.set('revision', state.revision);
  for (const [k, v] of Object.entries(extra)) if (v !== '' && v !== undefined) params.set(k, v);
  history.replaceState(null, '', `${location.pathname}?${params}`);
}

function readUrlParams() {
  return new URLSearchParams(location.search);
}

// ---- topologies, revisions and the names to complete ----

async function loadTopologies(wanted) {
  const list = await api('/v1/topologies?limit=200');
  const select = $('topology');
  select.replaceChildren(...list.items.map((t) => el('option', { value: t.name, text: t.name })));
  if (list.items.length === 0) {
    $('topology-info').textContent = 'No topology yet: POST one to /v1/topologies (see the README).';
    return;
  }
  const name = list.items.some((t) => t.name === wanted) ? wanted : list.items[0].name;
  select.value = name;
  await selectTopology(name, readUrlParams().get('revision') ?? '');
}

async function selectTopology(name, revision = '') {
  state.topology = name;
  const revs = await api(`${topologyPath('/revisions')}?limit=200`);
  state.revisions = revs.items.map((r) => r.revision);
  state.revision = state.revisions.includes(Number(revision)) && Number(revision) !== state.revisions[0] ? String(revision) : '';
  const newest = state.revisions[0];
  $('revision').replaceChildren(
    el('option', { value: '', text: `newest (${newest})` }),
    ...state.revisions.slice(1).map((r) => el('option', { value: String(r), text: String(r) })),
  );
  $('revision').value = state.revision;
  for (const [id, pick] of [['diff-from', state.revisions[1] ?? newest], ['diff-to', newest]]) {
    $(id).replaceChildren(...state.revisions.map((r) => el('option', { value: String(r), text: String(r) })));
    $(id).value = String(pick);
  }
  const current = revs.items.find((r) => String(r.revision) === (state.revision || String(newest)));
  $('topology-info').textContent = current
    ? `${current.form}: ${current.summary.nodes} nodes, ${current.summary.pods} pods${current.description ? ` — ${current.description}` : ''}`
    : '';
  await loadNames();
}

/** Fills the completion list from the topology's document: pods, nodes, Services, netns, and their addresses. */
async function loadNames() {
  const doc = await api(state.revision ? topologyPath(`/revisions/${enc(state.revision)}`) : topologyPath());
  const names = new Map();
  const add = (value, label) => {
    if (value && !names.has(value)) names.set(value, label);
  };
  const bare = (cidr) => String(typeof cidr === 'string' ? cidr : cidr.address).split('/')[0];
  if (doc.cluster) {
    for (const p of doc.cluster.pods ?? []) add(`${p.namespace}/${p.name}`, `pod on ${p.nodeName}`);
    for (const n of doc.cluster.nodes ?? []) add(n.name, 'node');
    for (const p of doc.cluster.pods ?? []) for (const ip of p.podIPs ?? []) add(ip.ip, `${p.namespace}/${p.name}`);
    for (const n of doc.cluster.nodes ?? []) for (const a of n.addresses ?? []) add(a.address, n.name);
    // Services as the API holds them: by name (with a port, kube-proxy's rules decide), and their virtual addresses.
    for (const s of doc.cluster.services ?? []) {
      const name = `svc/${s.metadata?.namespace ?? 'default'}/${s.metadata?.name}`;
      add(name, `Service (${s.spec?.type ?? 'ClusterIP'})`);
      const virtual = [...(s.spec?.clusterIPs ?? [s.spec?.clusterIP]), ...(s.spec?.externalIPs ?? []), ...(s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip)];
      for (const ip of virtual) if (ip && ip !== 'None') add(ip, name);
    }
  }
  if (doc.fabric) {
    for (const ns of doc.fabric.netns ?? []) add(ns.name, ns.kind ?? 'netns');
    for (const ns of doc.fabric.netns ?? []) for (const l of ns.links ?? []) for (const a of l.addresses ?? []) add(bare(a), `${ns.name} ${l.name}`);
  }
  $('endpoints').replaceChildren(...[...names].map(([value, label]) => el('option', { value, label })));
}

// ---- a trace: the diagram, each hop's steps, the text ----

const OUTCOME = (d) => (d === 'DELIVERED' ? 'delivered' : d === 'EXITS_NETWORK' ? 'exits' : 'failed');

async function runTrace() {
  const from = $('from').value.trim();
  const to = $('to').value.trim();
  const protocol = $('protocol').value;
  const port = protocol === 'icmp' ? '' : $('port').value.trim();
  const q = new URLSearchParams({ from, to, protocol });
  if (port) q.set('port', port);
  if (state.revision) q.set('revision', state.revision);
  writeUrl({ from, to, protocol: protocol === 'icmp' ? '' : protocol, port });
  const base = `${topologyPath('/trace')}?${q}`;
  // The diagram (whose hops carry their explanations as tooltips) and the text are what is shown; the JSON is asked
  // without its prose, which a long trace has much of: a hop's explanations are fetched when it is opened.
  const [answer, svg, text] = await Promise.all([api(`${base}&detail=hops`), api(`${base}&format=svg`, { as: 'text' }), api(`${base}&format=text`, { as: 'text' })]);
  state.answer = answer;
  state.full = null;
  state.traceUrl = base;
  $('trace-result').hidden = false;
  const summary = $('summary');
  summary.textContent = answer.summary;
  summary.className = `summary ${OUTCOME(answer.disposition)}`;
  drawDiagram(svg, answer);
  $('hop-detail').replaceChildren();
  $('text').textContent = text;
  $('copied').textContent = '';
}

function drawDiagram(svgText, answer) {
  const parsed = new DOMParser().parseFromString(svgText, 'image/svg+xml');
  const svg = document.importNode(parsed.documentElement, true);
  svg.setAttribute('role', 'group');
  svg.setAttribute('aria-label', `Diagram: ${answer.summary}`);
  // The diagram keeps its size and scrolls sideways when it is wider than the page.
  $('diagram').replaceChildren(svg);
  for (const g of svg.querySelectorAll('g.hop')) {
    const i = Number(g.getAttribute('data-hop'));
    const hop = answer.hops[i];
    g.setAttribute('tabindex', '0');
    g.setAttribute('role', 'button');
    g.setAttribute('aria-label', `Hop ${i + 1}: ${hop.netns}, ${hop.steps.length} steps`);
    g.addEventListener('click', () => showHop(i, g));
    g.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        showHop(i, g);
      }
    });
  }
}

/** The trace with every step's explanation: asked once, when the first hop is opened, and kept for the others. */
async function fullTrace() {
  const url = state.traceUrl;
  if (state.full?.url !== url) state.full = { url, answer: api(url) };
  return state.full.answer;
}

async function showHop(i, g) {
  const hop = state.answer.hops[i];
  for (const other of document.querySelectorAll('#diagram g.hop.selected')) other.classList.remove('selected');
  g.classList.add('selected');
  const where = [hop.netns, hop.node && hop.node !== hop.netns ? `on ${hop.node}` : '', `in ${hop.in ?? '–'}, out ${hop.out ?? '–'}`].filter(Boolean).join(', ');
  const detail = $('hop-detail');
  detail.replaceChildren(el('h3', { text: `Hop ${i + 1}: ${where}` }), el('p', { class: 'help', text: 'Reading its steps…' }));
  detail.dataset.hop = String(i);
  let steps;
  try {
    steps = (await fullTrace()).hops[i].steps;
  } catch (err) {
    state.full = null;
    showError(err);
    steps = hop.steps;
  }
  // Another hop (or trace) was opened meanwhile.
  if (detail.dataset.hop !== String(i) || state.answer.hops[i] !== hop) return;
  detail.replaceChildren(
    el('h3', { text: `Hop ${i + 1}: ${where}` }),
    el('ol', {}, ...steps.map((s) => el('li', {}, el('span', { class: 'type', text: s.type }), s.explanation ? ` ${s.explanation}` : ''))),
  );
}

async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    $('copied').textContent = `${what} copied.`;
  } catch {
    // Without clipboard permission (plain http off localhost): select the text for Ctrl+C.
    const range = document.createRange();
    range.selectNodeContents($('text'));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    $('copied').textContent = 'Selected: press Ctrl+C to copy.';
  }
}

// ---- the matrix as a heat map ----

const groupOf = (e, by) => (by === 'node' ? (e.node ?? '(no node)') : by === 'namespace' ? (e.name.includes('/') ? e.name.split('/')[0] : '(none)') : '');
const byName = (a, b) => state.matrix.endpoints[a].name.localeCompare(state.matrix.endpoints[b].name);

async function loadMatrix() {
  const q = new URLSearchParams();
  const namespace = $('m-namespace').value.trim();
  const node = $('m-node').value.trim();
  const protocol = $('m-protocol').value;
  const port = protocol === 'icmp' ? '' : $('m-port').value.trim();
  if (namespace) q.set('namespace', namespace);
  if (node) q.set('node', node);
  if (protocol !== 'icmp') q.set('protocol', protocol);
  if (port) q.set('port', port);
  if (state.revision) q.set('revision', state.revision);
  // The letters: one byte a pair, so that even 5,000 pods (25 million pairs) arrive in one answer.
  const m = await api(`${topologyPath('/reachability')}?${q}`);
  state.matrix = m;
  // A port is a number or, as the API takes it, the name of the destination pod's port.
  state.transport = protocol === 'icmp' ? {} : { protocol, ...(port ? { port: /^\d+$/.test(port) ? Number(port) : port } : {}) };
  state.marks = new Map();
  state.zoom = [];
  drawMatrix();
  const delivered = m.counts.DELIVERED ?? 0;
  const how = m.endpoints.length > MAX_DRAWN_PODS ? 'An overview by group: Enter (or a click) opens a group' : 'Enter (or a click) traces the pair';
  $('matrix-info').textContent = `${m.endpoints.length} pods, ${m.pairs} pairs: ${delivered} delivered. Arrow keys move between cells; ${how}.`;
  $('diff-result').replaceChildren();
}

function drawLegend(m) {
  $('legend').replaceChildren(
    ...Object.entries(m.legend)
      .filter(([, d]) => (m.counts[d] ?? 0) > 0)
      .map(([letter, d]) => el('li', {}, el('span', { class: `swatch o-${letter}`, text: letter, 'aria-hidden': 'true' }), `${d} (${m.counts[d]})`)),
  );
}

/**
 * Splits pods into the groups an overview shows: by the grouping asked for, else by the other one when that tells
 * nothing apart (inside one namespace, by node), else in slices by name. Past MAX_GROUPS, neighbouring groups are
 * gathered into runs, each opened in turn. Every group is smaller than the set, so opening groups ends at pods.
 */
function partition(set, by) {
  const m = state.matrix;
  for (const key of by === 'node' ? ['node', 'namespace'] : ['namespace', 'node']) {
    const groups = new Map();
    for (const i of set) {
      const g = groupOf(m.endpoints[i], key);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(i);
    }
    if (groups.size < 2) continue;
    const sorted = [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([g, members]) => ({ label: `${key} ${g}`, members: members.sort(byName) }));
    if (sorted.length <= MAX_GROUPS) return sorted;
    const per = Math.ceil(sorted.length / MAX_GROUPS);
    const runs = [];
    for (let k = 0; k < sorted.length; k += per) {
      const run = sorted.slice(k, k + per);
      runs.push({ label: `${run[0].label} … ${run.at(-1).label.slice(key.length + 1)} (${run.length} ${key}s)`, members: run.flatMap((g) => g.members) });
    }
    return runs;
  }
  const sorted = [...set].sort(byName);
  const slices = [];
  for (let k = 0; k < sorted.length; k += SLICE) {
    const members = sorted.slice(k, k + SLICE);
    slices.push({ label: `pods ${m.endpoints[members[0]].name} … ${m.endpoints[members.at(-1)].name}`, members });
  }
  return slices;
}

/** Draws the innermost view opened: the pods' own cells when both sides are small enough, else an overview of groups. */
function drawMatrix() {
  const m = state.matrix;
  if (!m) return;
  drawLegend(m);
  const by = $('group').value;
  const all = m.endpoints.map((_, i) => i);
  const view = state.zoom.at(-1) ?? { rows: all, cols: all, title: '' };
  const crumbs = $('matrix-zoom');
  if (state.zoom.length > 0) {
    const back = el('button', { type: 'button', text: state.zoom.length > 1 ? 'Back' : 'Back to the overview' });
    back.addEventListener('click', zoomOut);
    crumbs.replaceChildren(el('span', { text: `Showing ${view.title} ` }), back);
  } else {
    crumbs.replaceChildren();
  }
  const table = view.rows.length <= MAX_DRAWN_PODS && view.cols.length <= MAX_DRAWN_PODS ? podTable(view, by) : overviewTable(view, by);
  table.addEventListener('click', (e) => {
    const td = e.target.closest('td');
    if (td) openCell(td);
  });
  table.addEventListener('keydown', onGridKey);
  table.addEventListener('focusin', (e) => describeCell(e.target.closest('td')));
  table.addEventListener('mouseover', (e) => describeCell(e.target.closest('td')));
  $('matrix').replaceChildren(table);
}

/** The first cell is the grid's one stop in the Tab order; the arrow keys move from it (a roving tabindex). */
const gridCell = (attrs, r, c) => el('td', { ...attrs, tabindex: r === 0 && c === 0 ? '0' : '-1', 'data-r': String(r), 'data-c': String(c) });

function podTable(view, by) {
  const m = state.matrix;
  const sortSide = (side) => [...side].sort((a, b) => groupOf(m.endpoints[a], by).localeCompare(groupOf(m.endpoints[b], by)) || byName(a, b));
  const rows = sortSide(view.rows);
  const cols = sortSide(view.cols);
  state.view = { rows, cols };
  const startsOf = (side) => new Set(by === 'none' ? [] : side.filter((i, k) => k === 0 || groupOf(m.endpoints[i], by) !== groupOf(m.endpoints[side[k - 1]], by)));
  const rowStarts = startsOf(rows);
  const colStarts = startsOf(cols);
  const table = el('table', { class: 'matrix', role: 'grid', 'aria-label': `Reachability: row is the source, column the destination` });
  const head = el('tr', {}, el('th', { class: 'corner', scope: 'col', text: 'from \\ to' }));
  for (const j of cols) head.append(el('th', { scope: 'col', class: colStarts.has(j) ? 'group-start' : '', text: m.endpoints[j].name }));
  table.append(el('thead', {}, head));
  const body = el('tbody');
  rows.forEach((i, r) => {
    if (rowStarts.has(i)) {
      body.append(el('tr', {}, el('th', { class: 'group', colspan: String(cols.length + 1), scope: 'rowgroup', text: `${by} ${groupOf(m.endpoints[i], by)}` })));
    }
    const tr = el('tr', { class: rowStarts.has(i) ? 'group-start' : '' }, el('th', { scope: 'row', text: m.endpoints[i].name }));
    cols.forEach((j, c) => {
      const letter = m.rows[i][j];
      const self = letter === '-';
      // The label names the cell for a screen reader (its text alone is a letter) and, as the title, for the mouse.
      const label = cellLabel(i, j);
      const classes = [self ? 'o-self' : m.legend[letter] ? `o-${letter}` : 'o-none', colStarts.has(j) ? 'group-start' : '', state.marks.has(`${i},${j}`) ? 'changed' : ''];
      tr.append(gridCell({ class: classes.filter(Boolean).join(' '), title: label, 'aria-label': label, 'data-i': String(i), 'data-j': String(j), text: self ? '' : letter }, r, c));
    });
    body.append(tr);
  });
  table.append(body);
  return table;
}

/**
 * A block of the overview: every pair from one group to another, counted by outcome. It shows the most frequent
 * outcome's colour and letter, and when the block is mixed, the next most frequent letter after it and a hatching.
 */
function blockOf(from, to) {
  const m = state.matrix;
  const counts = new Map();
  let changed = 0;
  for (const i of from.members) {
    const row = m.rows[i];
    for (const j of to.members) {
      const letter = row[j];
      if (letter === '-') continue;
      counts.set(letter, (counts.get(letter) ?? 0) + 1);
      if (state.marks.size > 0 && state.marks.has(`${i},${j}`)) changed++;
    }
  }
  return { counts: [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])), changed };
}

function overviewTable(view, by) {
  const m = state.matrix;
  const rows = partition(view.rows, by);
  const cols = view.cols === view.rows ? rows : partition(view.cols, by);
  state.view = { rows, cols, groups: true };
  const named = (g) => `${g.label} (${g.members.length} pod${g.members.length === 1 ? '' : 's'})`;
  const table = el('table', { class: 'matrix overview', role: 'grid', 'aria-label': 'Reachability by group: row is the source group, column the destination group; open a block to see its pods' });
  const head = el('tr', {}, el('th', { class: 'corner', scope: 'col', text: 'from \\ to' }));
  for (const g of cols) head.append(el('th', { scope: 'col', text: named(g) }));
  table.append(el('thead', {}, head));
  const body = el('tbody');
  rows.forEach((from, r) => {
    const tr = el('tr', {}, el('th', { scope: 'row', text: named(from) }));
    cols.forEach((to, c) => {
      const { counts, changed } = blockOf(from, to);
      const pairs = counts.reduce((n, [, k]) => n + k, 0);
      const said = counts.map(([letter, k]) => `${k} ${letter === '?' ? 'without a common address family' : m.legend[letter]}`).join(', ');
      const label = `${named(from)} → ${named(to)}: ${pairs === 0 ? 'no pairs' : `${pairs} pairs, ${said}`}${changed ? `; ${changed} changed` : ''}`;
      const [top, next] = counts;
      const classes = [top === undefined ? 'o-self' : m.legend[top[0]] ? `o-${top[0]}` : 'o-none', next ? 'mixed' : '', changed ? 'changed' : ''];
      tr.append(gridCell({ class: classes.filter(Boolean).join(' '), title: label, 'aria-label': label, 'data-g': `${r},${c}`, text: top ? `${top[0]}${next ? next[0] : ''}` : '' }, r, c));
    });
    body.append(tr);
  });
  table.append(body);
  return table;
}

function zoomInto(td) {
  const [r, c] = td.dataset.g.split(',').map(Number);
  const from = state.view.rows[r];
  const to = state.view.cols[c];
  const rows = from.members;
  const cols = from === to ? rows : to.members;
  state.zoom.push({ rows, cols, title: from === to ? `${from.label} (${rows.length} pods)` : `${from.label} → ${to.label} (${rows.length} × ${cols.length} pods)` });
  drawMatrix();
  $('matrix').querySelector('td[tabindex="0"]')?.focus();
}

function zoomOut() {
  state.zoom.pop();
  drawMatrix();
  $('matrix').querySelector('td[tabindex="0"]')?.focus();
}

function cellLabel(i, j) {
  const m = state.matrix;
  const letter = m.rows[i][j];
  const outcome = letter === '-' ? 'the same pod' : (m.legend[letter] ?? 'no common address family');
  const mark = state.marks.get(`${i},${j}`);
  return `${m.endpoints[i].name} → ${m.endpoints[j].name}: ${outcome}${mark ? `; ${mark}` : ''}`;
}

function onGridKey(e) {
  const td = e.target.closest('td');
  if (!td) return;
  if (e.key === 'Escape' && state.zoom.length > 0) {
    e.preventDefault();
    zoomOut();
    return;
  }
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    openCell(td);
    return;
  }
  const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0], Home: [0, -Infinity], End: [0, Infinity] };
  const move = moves[e.key];
  if (!move) return;
  e.preventDefault();
  const clamp = (v, n) => Math.max(0, Math.min(n - 1, v));
  const r = clamp(Number(td.dataset.r) + move[0], state.view.rows.length);
  const c = clamp(Number(td.dataset.c) + move[1], state.view.cols.length);
  const next = $('matrix').querySelector(`td[data-r="${r}"][data-c="${c}"]`);
  if (!next || next === td) return;
  td.tabIndex = -1;
  next.tabIndex = 0;
  next.focus();
}

let describing = 0;
/** Says what a cell is at once, then the step that decided, from a one-line trace. */
function describeCell(td) {
  if (!td || td.classList.contains('o-self')) return;
  if (td.dataset.g) {
    $('cell-info').textContent = td.getAttribute('aria-label');
    return;
  }
  const label = cellLabel(Number(td.dataset.i), Number(td.dataset.j));
  $('cell-info').textContent = label;
  const ticket = ++describing;
  const m = state.matrix;
  const path = topologyPath('/trace');
  setTimeout(async () => {
    // Another cell was described meanwhile, or another matrix shown.
    if (ticket !== describing || state.matrix !== m) return;
    const q = new URLSearchParams({ from: m.endpoints[td.dataset.i].name, to: m.endpoints[td.dataset.j].name, detail: 'summary', ...state.transport });
    if (state.revision) q.set('revision', state.revision);
    try {
      const a = await api(`${path}?${q}`);
      if (ticket !== describing || state.matrix !== m) return;
      // "<DISPOSITION> at <netns>: <from> → <to> via <path>: <the deciding step>", or for a delivery only the path.
      const via = a.summary.indexOf(' via ');
      const cut = a.summary.indexOf(': ', via);
      const why = a.disposition === 'DELIVERED' || cut < 0 ? `by ${a.summary.slice(via + 5)}` : `at ${a.summary.slice(a.summary.indexOf(' at ') + 4, a.summary.indexOf(': '))}: ${a.summary.slice(cut + 2)}`;
      $('cell-info').textContent = `${label}. Decided ${why}`;
      td.title = `${label}\n${why}`;
    } catch {
      // The label already says the outcome; the deciding step is a detail.
    }
  }, 250);
}

/** A pair's cell traces the pair (as the matrix asked: the same protocol and port); a block of the overview opens. */
async function openCell(td) {
  if (td.classList.contains('o-self') && !td.dataset.g) return;
  if (td.dataset.g) {
    zoomInto(td);
    return;
  }
  const m = state.matrix;
  $('from').value = m.endpoints[td.dataset.i].name;
  $('to').value = m.endpoints[td.dataset.j].name;
  $('protocol').value = state.transport.protocol ?? 'icmp';
  $('port').value = state.transport.port ?? '';
  $('port').disabled = $('protocol').value === 'icmp';
  await guarded(runTrace)();
  $('trace').scrollIntoView();
  $('summary').setAttribute('tabindex', '-1');
  $('summary').focus();
}

// ---- diff and what-if, highlighted on the matrix ----

function markPairs(pairs, describe) {
  const m = state.matrix;
  state.marks = new Map();
  if (!m) return 0;
  const index = new Map(m.endpoints.map((e, i) => [e.name, i]));
  let shown = 0;
  for (const p of pairs) {
    const i = index.get(p.from);
    const j = index.get(p.to);
    if (i === undefined || j === undefined) continue;
    state.marks.set(`${i},${j}`, describe(p));
    shown++;
  }
  drawMatrix();
  return shown;
}

function listPairs(title, pairs, note) {
  const items = pairs.slice(0, 200).map((p) => el('li', { text: `${p.from} → ${p.to}: ${p.before} → ${p.after}` }));
  if (pairs.length > 200) items.push(el('li', { text: `… and ${pairs.length - 200} more` }));
  $('diff-result').replaceChildren(el('h3', { text: title }), ...(note ? [el('p', { class: 'help', text: note })] : []), el('ul', { class: 'changes' }, ...items));
}

async function runDiff() {
  const from = $('diff-from').value;
  const to = $('diff-to').value;
  if (from === to) throw new Error('pick two different revisions to compare');
  const q = new URLSearchParams({ from, to });
  const namespace = $('m-namespace').value.trim();
  const node = $('m-node').value.trim();
  if (namespace) q.set('namespace', namespace);
  if (node) q.set('node', node);
  const d = await api(`${topologyPath('/diff')}?${q}`);
  const c = d.changes;
  const counts = [
    `${c.nodes.added.length + c.nodes.removed.length + c.nodes.changed.length} nodes`,
    `${c.pods.added.length + c.pods.removed.length + c.pods.changed.length} pods`,
    `${c.links.length} links`,
    `${c.routes.length} netns with route changes`,
  ].join(', ');
  const shown = markPairs(d.reachability.changed, (p) => `changed from ${p.before} (revision ${d.from}) to ${p.after} (revision ${d.to})`);
  const note = state.matrix ? `${shown} of them are marked on the matrix with a dashed frame.` : 'Show the matrix to see them marked on it.';
  listPairs(`Revision ${d.from} → ${d.to}: ${d.reachability.changedCount} pairs changed outcome; changed: ${counts}`, d.reachability.changed, note);
}

async function runWhatIf() {
  if (!state.matrix) await loadMatrix();
  const m = state.matrix;
  let changes;
  try {
    changes = JSON.parse($('changes').value);
  } catch (err) {
    throw new Error(`the changes are not JSON: ${err.message}`);
  }
  const flows = [];
  const transport = state.transport;
  for (let i = 0; i < m.endpoints.length; i++) {
    for (let j = 0; j < m.endpoints.length; j++) if (i !== j && m.rows[i][j] !== '?') flows.push({ from: m.endpoints[i].name, to: m.endpoints[j].name, ...transport });
  }
  if (flows.length > MAX_WHATIF_FLOWS) throw new Error(`${flows.length} pairs: a what-if traces at most ${MAX_WHATIF_FLOWS}; filter the matrix by namespace or node first`);
  const body = { base: state.topology, changes: Array.isArray(changes) ? changes : [changes], flows };
  if (state.revision) body.revision = Number(state.revision);
  const answer = await api('/v1/traces?detail=summary', { method: 'POST', body });
  const index = new Map(m.endpoints.map((e, i) => [e.name, i]));
  const changed = [];
  for (const t of answer.traces) {
    const before = m.legend[m.rows[index.get(t.flow.from)][index.get(t.flow.to)]];
    const after = t.trace ? t.trace.disposition : `error: ${t.error.detail}`;
    if (before !== after) changed.push({ from: t.flow.from, to: t.flow.to, before, after });
  }
  markPairs(changed, (p) => `what-if: ${p.before} becomes ${p.after}`);
  listPairs(`What if: ${changed.length} of ${flows.length} pairs would change outcome`, changed, changed.length ? 'They are marked on the matrix with a dashed frame.' : '');
}

// ---- wiring ----

function wire() {
  $('token').value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  $('auth').addEventListener(
    'submit',
    guarded(async () => {
      const token = $('token').value.trim();
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
      await loadTopologies(state.topology || readUrlParams().get('topology'));
    }),
  );
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $('token').value = '';
  });
  $('topology').addEventListener('change', guarded(async () => {
    // The matrix and the trace shown are of the other topology: nothing may ask about its pods in this one.
    state.matrix = null;
    $('trace-result').hidden = true;
    await selectTopology($('topology').value);
    $('matrix').replaceChildren();
    $('legend').replaceChildren();
  }));
  $('revision').addEventListener('change', guarded(async () => {
    state.revision = $('revision').value;
    await loadNames();
    if (state.matrix) await loadMatrix();
  }));
  $('protocol').addEventListener('change', () => {
    $('port').disabled = $('protocol').value === 'icmp';
  });
  $('trace-form').addEventListener('submit', guarded(runTrace));
  $('copy-text').addEventListener('click', () => copy($('text').textContent, 'Text'));
  $('copy-link').addEventListener('click', () => copy(location.href, 'Link'));
  $('matrix-form').addEventListener('submit', guarded(loadMatrix));
  $('group').addEventListener('change', () => {
    // The groups opened were of the other grouping.
    state.zoom = [];
    drawMatrix();
  });
  $('m-protocol').addEventListener('change', () => {
    $('m-port').disabled = $('m-protocol').value === 'icmp';
  });
  $('zoom').addEventListener('input', () => document.documentElement.style.setProperty('--cell', `${$('zoom').value}px`));
  $('diff-form').addEventListener('submit', guarded(runDiff));
  $('whatif-form').addEventListener('submit', guarded(runWhatIf));
}

async function start() {
  wire();
  const params = readUrlParams();
  for (const key of ['from', 'to', 'port']) if (params.has(key)) $(key).value = params.get(key);
  if (params.has('protocol')) $('protocol').value = params.get('protocol');
  $('port').disabled = $('protocol').value === 'icmp';
  await loadTopologies(params.get('topology'));
  if (state.topology && params.get('from') && params.get('to')) await runTrace();
}

guarded(start)();
