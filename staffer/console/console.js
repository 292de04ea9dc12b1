// staffer console: the MQTT session, the site's live state, and the supervisor's actions.
// The page connects to the broker itself (MQTT 3.1.1 over WebSocket, MQTT.js) with the
// credentials typed in; the {supervisor} topic level is that username (contract §2, §13).
'use strict';

(() => {
  const REPLY_TIMEOUT_MS = 15000;
  const MAX_MOVES = 60;
  const MAX_REQUESTS = 40;
  // Reply error codes (contract §4, §9) in words.
  const ERRORS = {
    invalid: 'the request was not valid',
    unknown_action: 'this daemon does not know that action',
    unknown_queue: 'the site has no such queue',
    unknown_agent: 'the daemon has never seen that agent on this site',
    no_skill: 'the agent is not skilled for that queue',
    not_found: 'there was nothing active to remove',
    conflict: 'that request id was already used for another request',
    limit: 'the site already has too many active overrides',
    unavailable: 'the site has had no data yet; try again shortly',
    unknown_proposal: 'that proposal is no longer open',
    stale_proposal: 'the agent has moved, was locked or went off since it was proposed',
    no_proposals: 'there are no open proposals',
    shadow_mode: 'the site is in shadow mode: its proposals are read-only',
    storage: 'the daemon could not save the request; nothing was done',
  };
  // CONNACK refusals: MQTT 3.1.1 return codes and their MQTT 5 counterparts.
  const REFUSED = { 4: 'bad username or password', 5: 'not authorised', 134: 'bad username or password', 135: 'not authorised' };
  const LEVEL_NAMES = /[/+#\u0000]/;
  const TAKEOVER_MS = 5000; // a session this short, ended by the broker, was taken over...
  const TAKEOVER_LOOP = 3; // ...and this many in a row: another tab or tool has our client id

  const S = {
    cfg: { interval_s: 300, topic_prefix: 'staffer', sites: [] },
    client: null, creds: null, live: false, lostAt: null,
    plan: null, status: null, proposals: [], overrides: [], moves: [], requests: [],
    pendingProposals: new Map(), // proposal id -> 'approve' | 'reject'
  };
  const $ = (id) => document.getElementById(id);
  const R = Render;

  // ---- connection --------------------------------------------------------------------------
  const base = () => `${S.cfg.topic_prefix}/${S.creds.site}`;
  const replyTopic = () => `${base()}/override/${S.creds.username}/reply`;

  function setConn(state, text) {
    $('conn').dataset.state = state;
    document.body.dataset.conn = state;
    $('conn-text').textContent = text;
  }

  function notice(text, level) {
    const n = $('notice');
    n.textContent = `${R.clock(Date.now())}  ${text}`;
    n.dataset.level = level;
  }

  function connect(creds) {
    for (const [name, value] of [['site', creds.site], ['username', creds.username]]) {
      if (!value || LEVEL_NAMES.test(value)) return showLogin(`The ${name} must be one topic level: not empty, no / + #.`);
    }
    stop();
    Object.assign(S, { creds, live: false, lostAt: null, plan: null, status: null, proposals: [], overrides: [], moves: [], requests: [] });
    S.pendingProposals.clear();
    renderAll();
    $('who').textContent = creds.username;
    R.options($('site-pick'), [...new Set([...S.cfg.sites, creds.site])]);
    $('site-pick').value = creds.site;
    setConn('connecting', `connecting to ${creds.ws}…`);
    const options = {
      protocolVersion: 4, // MQTT 3.1.1: also what NATS speaks; replies are matched by id
      clientId: `console-${creds.username.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)}-${randomHex(4)}`,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 10000,
      username: creds.username,
    };
    if (creds.password) options.password = creds.password;
    let client;
    try {
      client = mqtt.connect(creds.ws, options);
    } catch (err) {
      return showLogin(`Cannot use ${creds.ws}: ${err.message}`);
    }
    S.client = client;
    const topics = ['plan', 'proposals', 'overrides', 'commands'].map((t) => `${base()}/${t}`);
    topics.push(replyTopic(), `${S.cfg.topic_prefix}/status`);
    client.subscribe(topics, { qos: 1 }, (err, granted) => {
      const denied = (granted || []).filter((g) => g.qos === 128).map((g) => g.topic);
      if (err) notice(`Subscribing failed: ${err.message}`, 'bad');
      else if (denied.length) notice(`The broker refused: ${denied.join(', ')}`, 'bad');
    });
    let since = 0; // when the current session began (0: none)
    let quick = 0; // sessions in a row the broker ended within TAKEOVER_MS
    client.on('connect', () => {
      since = Date.now();
      const lost = S.lostAt;
      S.live = true;
      S.lostAt = null;
      setConn('live', 'live');
      $('login').hidden = true;
      if (lost) notice(`Reconnected to the broker after ${R.dur((Date.now() - lost) / 1000)}.`, 'ok');
      else notice(`Connected to ${creds.ws} as ${creds.username}.`, 'ok');
      const q = new URLSearchParams({ site: creds.site, username: creds.username, ws: creds.ws });
      history.replaceState(null, '', `?${q}`);
    });
    const lose = () => {
      if (S.client !== client) return;
      if (since) quick = Date.now() - since < TAKEOVER_MS ? quick + 1 : 0;
      since = 0;
      if (quick >= TAKEOVER_LOOP) { // use_username_as_clientid: one connection per user
        stop();
        setConn('refused', 'taken over');
        return notice(`Another console tab or tool is connected as ${creds.username}: the broker keeps one connection per user and keeps closing this one. Not reconnecting; close the other one, then reload this page.`, 'bad');
      }
      if (!S.live) return;
      S.live = false;
      S.lostAt = Date.now();
      setConn('reconnecting', 'reconnecting…');
      notice('Lost the connection to the broker; reconnecting by itself. Figures are frozen.', 'warn');
    };
    client.on('close', lose);
    client.on('offline', lose);
    client.on('reconnect', () => {
      if (S.client === client) setConn(S.lostAt ? 'reconnecting' : 'connecting', S.lostAt ? 'reconnecting…' : `retrying ${creds.ws}…`);
    });
    client.on('error', (err) => {
      if (S.client !== client) return;
      if (err.code in REFUSED) {
        stop();
        if (!creds.password) showLogin(`The broker wants a password for ${creds.username}.`, 'password');
        else showLogin(`The broker refused: ${REFUSED[err.code]}.`, 'password');
      } else {
        notice(`Broker connection: ${err.message}`, 'warn');
      }
    });
    client.on('message', (topic, payload) => S.client === client && onMessage(topic, payload.toString()));
  }

  function stop() {
    if (S.client) S.client.end(true);
    S.client = null;
    S.live = false;
  }

  function showLogin(message, focus) {
    stop();
    setConn(message ? 'refused' : 'idle', message ? 'not connected' : 'not connected');
    const f = $('login-form');
    if (S.creds) for (const k of ['ws', 'site', 'username']) f.elements[k].value = S.creds[k];
    $('login-msg').textContent = message || '';
    $('login').hidden = false;
    (f.elements[focus || 'username'] || f.elements.username).focus();
  }

  // ---- inbound ---------------------------------------------------------------------------
  function onMessage(topic, text) {
    let data = null;
    if (text !== '') {
      try {
        data = JSON.parse(text);
      } catch {
        return notice(`Unreadable message on ${topic}`, 'warn');
      }
    }
    if (topic === `${S.cfg.topic_prefix}/status`) {
      S.status = data;
      return R.daemon(data);
    }
    if (topic === replyTopic()) return onReply(data);
    switch (topic.slice(base().length + 1)) {
      case 'plan':
        S.plan = data;
        renderPlan();
        return renderProposals(); // the mode decides whether proposals can be acted on
      case 'proposals':
        S.proposals = (data && Array.isArray(data.proposals)) ? data.proposals : [];
        for (const id of S.pendingProposals.keys()) if (!S.proposals.some((p) => p.proposal_id === id)) S.pendingProposals.delete(id);
        return renderProposals();
      case 'overrides':
        S.overrides = Array.isArray(data) ? data : [];
        R.overrides(S.overrides);
        return agentsSeen();
      case 'commands':
        for (const m of (data && data.moves) || []) {
          S.moves.unshift({ ...m, ts: data.ts, mode: data.mode, command_id: data.command_id });
        }
        S.moves.length = Math.min(S.moves.length, MAX_MOVES);
        R.moves(S.moves);
        return agentsSeen();
      default:
        return undefined;
    }
  }

  function onReply(reply) {
    const req = reply && S.requests.find((r) => r.id === reply.id);
    if (!req) return; // another console of the same user, or a reply we no longer track
    req.outcome = reply.ok ? 'ok' : 'error';
    req.text = reply.ok ? okText(req, reply) : errorText(reply.error || {});
    if (req.proposal) S.pendingProposals.delete(req.proposal);
    R.replies(S.requests);
    renderProposals();
  }

  // What the daemon did (contract §4, §9 reply fields), as `staffer ctl` says it.
  function okText(req, r) {
    const parts = ['✓ done'];
    const list = (x) => (Array.isArray(x) ? x : []);
    const name = (id) => (req.names && req.names[id]) || id; // a proposal by its move
    if (req.action === 'cancel') parts.push(`cancelled ${R.short(r.override_id)}`);
    else if (r.override_id) parts.push(`override ${R.short(r.override_id)}`, r.expires_at ? `until ${R.clock(r.expires_at)}` : 'until changed');
    if (list(r.removed).length && req.action !== 'cancel') parts.push(`${r.override_id ? 'replaced' : 'removed'} ${r.removed.length}`);
    if (list(r.approved).length) parts.push(`approved ${list(r.approved).map(R.moveText).join(', ')}`);
    if (r.command_id) parts.push(`command ${r.command_id}`);
    for (const w of list(r.withdrawn)) parts.push(`not approved ${name(w.proposal_id)}: ${w.why || 'no longer applies'}`);
    if (list(r.rejected).length) parts.push(`rejected ${list(r.rejected).map(name).join(', ')}`);
    if (r.cooldown_until) parts.push(`not proposed again before ${R.clock(r.cooldown_until)}`);
    if (req.action === 'replan') parts.push('planning now');
    return parts.join(' · ');
  }

  function errorText(err) {
    const words = ERRORS[err.code] || 'refused';
    return `✕ ${err.code || 'error'}: ${words}${err.message ? ` (${err.message})` : ''}`;
  }

  // ---- outbound (one request, one reply: contract §4) ---------------------------------------
  function randomHex(bytes) {
    return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
  }

  function send(action, fields, summary, extra = {}) {
    const req = { id: `console-${randomHex(8)}`, action, summary, sentAt: Date.now(), outcome: 'pending', text: '… waiting for the daemon', ...extra };
    if (action === 'approve' || action === 'reject') req.names = Object.fromEntries(S.proposals.map((p) => [p.proposal_id, R.moveText(p)]));
    S.requests.unshift(req);
    S.requests.length = Math.min(S.requests.length, MAX_REQUESTS);
    if (!S.live) {
      Object.assign(req, { outcome: 'error', text: '✕ not sent: not connected to the broker' });
      return R.replies(S.requests);
    }
    const body = { id: req.id, action, ...fields };
    const reason = $('reason').value.trim();
    if (reason) body.reason = reason;
    S.client.publish(`${base()}/override/${S.creds.username}`, JSON.stringify(body), { qos: 1 }, (err) => {
      if (err && req.outcome === 'pending') Object.assign(req, { outcome: 'error', text: `✕ not sent: ${err.message}` });
      R.replies(S.requests);
    });
    if (req.proposal) S.pendingProposals.set(req.proposal, action);
    R.replies(S.requests);
    return req;
  }

  function ttl() {
    const minutes = Number($('ttl').value);
    return $('ttl').value && minutes > 0 ? { ttl_s: Math.round(minutes * 60) } : {};
  }

  function count(value) {
    return value === '' ? undefined : Number(value);
  }

  function onAct(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const action = (event.submitter && event.submitter.dataset.action) || form.querySelector('button').dataset.action;
    const f = form.elements;
    const agent = f.agent ? f.agent.value.trim() : '';
    if (form.id === 'f-agent' && !agent) return f.agent.focus();
    switch (action) {
      case 'pin': {
        const bounds = { min: count(f.min.value), max: count(f.max.value) };
        if (bounds.min === undefined && bounds.max === undefined) return f.min.focus();
        const text = `pin ${f.queue.value}${bounds.min !== undefined ? ` ≥ ${bounds.min}` : ''}${bounds.max !== undefined ? ` ≤ ${bounds.max}` : ''}`;
        return send('pin', { queue: f.queue.value, ...bounds, ...ttl() }, text);
      }
      case 'unpin': return send('unpin', { queue: f.queue.value }, `unpin ${f.queue.value}`);
      case 'assign': return send('assign', { agent, queue: f.queue.value, ...ttl() }, `assign ${agent} → ${f.queue.value}`);
      case 'lock_agent': return send('lock_agent', { agent, ...ttl() }, `lock ${agent}`);
      case 'unlock_agent': return send('unlock_agent', { agent }, `unlock ${agent}`);
      case 'mode': {
        const life = f.permanent.checked ? { ttl_s: null } : ttl();
        return send('mode', { mode: f.mode.value, ...life }, `mode ${f.mode.value}${f.permanent.checked ? ' (until changed)' : ''}`);
      }
      case 'replan': return send('replan', {}, 'replan now');
      default: return undefined;
    }
  }

  function onListClick(event) {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const item = button.closest('[data-proposal-id], [data-override-id]');
    const action = button.dataset.action;
    if (action === 'cancel') {
      const id = item.dataset.overrideId;
      button.disabled = true;
      send('cancel', { override_id: id }, `cancel ${item.querySelector('.main').textContent}`);
    } else if (action === 'approve' || action === 'reject') {
      const id = item.dataset.proposalId;
      const p = S.proposals.find((x) => x.proposal_id === id);
      const what = p ? R.moveText(p) : id;
      send(action, { proposal_id: id }, `${action} ${what}`, { proposal: id });
      renderProposals();
    }
  }

  // ---- rendering glue ----------------------------------------------------------------------
  function renderPlan() {
    R.queues(S.plan);
    R.mode(S.plan);
    R.planAge(S.plan, S.cfg.interval_s);
    const ids = Object.keys((S.plan && S.plan.queues) || {});
    for (const select of document.querySelectorAll('.queue-pick')) R.options(select, ids);
  }

  function renderProposals() {
    R.proposals(S.proposals, S.pendingProposals, Boolean(S.plan && S.plan.mode === 'shadow'));
    $('proposals-empty').textContent = S.plan && !['approve', 'shadow'].includes(S.plan.mode)
      ? `No open proposals (mode ${S.plan.mode}: proposals appear in approve and shadow mode).`
      : 'No open proposals.';
    agentsSeen();
  }

  function renderAll() {
    renderPlan();
    renderProposals();
    R.overrides(S.overrides);
    R.moves(S.moves);
    R.replies(S.requests);
    R.daemon(S.status);
  }

  function agentsSeen() {
    const ids = new Set();
    for (const m of S.moves) ids.add(m.agent);
    for (const p of S.proposals) ids.add(p.agent);
    for (const o of S.overrides) if (o.agent) ids.add(o.agent);
    const list = $('agents');
    if (list.children.length !== ids.size) list.replaceChildren(...[...ids].sort().map((v) => R.h('option', { value: v })));
  }

  function tick() {
    $('clock').textContent = R.clock(Date.now());
    R.planAge(S.plan, S.cfg.interval_s);
    R.tickExpiries();
    let changed = false;
    for (const r of S.requests) {
      if (r.outcome === 'pending' && Date.now() - r.sentAt > REPLY_TIMEOUT_MS) {
        Object.assign(r, { outcome: 'timeout', text: `no reply in ${REPLY_TIMEOUT_MS / 1000} s: is the daemon running and serving ${S.creds.site}?` });
        if (r.proposal) S.pendingProposals.delete(r.proposal);
        changed = true;
      }
    }
    if (changed) {
      R.replies(S.requests);
      renderProposals();
    }
  }

  // ---- start -------------------------------------------------------------------------------
  async function boot() {
    try {
      const r = await fetch('console/config.json', { cache: 'no-store' });
      if (r.ok) Object.assign(S.cfg, await r.json());
    } catch {
      // served without the daemon's config: the form still works with typed-in values
    }
    const q = new URLSearchParams(location.search);
    const f = $('login-form').elements;
    f.ws.value = q.get('ws') || S.cfg.mqtt_ws_url || `ws://${location.hostname}:8080`;
    f.site.value = q.get('site') || S.cfg.sites[0] || '';
    f.username.value = q.get('username') || '';
    if (S.cfg.override_ttl_s) $('ttl').placeholder = String(Math.round(S.cfg.override_ttl_s / 60));
    $('sites').replaceChildren(...S.cfg.sites.map((s) => R.h('option', { value: s })));
    R.options($('site-pick'), S.cfg.sites);
    for (const id of ['f-pin', 'f-agent', 'f-mode']) $(id).addEventListener('submit', onAct);
    for (const id of ['proposals', 'overrides']) $(id).addEventListener('click', onListClick);
    $('approve-all').addEventListener('click', () => send('approve', { all: true }, `approve all ${S.proposals.length}`));
    $('login-form').addEventListener('submit', (e) => {
      e.preventDefault();
      connect({ ws: f.ws.value.trim(), site: f.site.value.trim(), username: f.username.value.trim(), password: f.password.value });
    });
    $('site-pick').addEventListener('change', (e) => S.creds && connect({ ...S.creds, site: e.target.value }));
    $('sign-out').addEventListener('click', () => {
      S.creds = null;
      f.password.value = '';
      showLogin();
    });
    setInterval(tick, 1000);
    tick();
    renderAll();
    // A development broker that lets this username in without a password: connect at once.
    if (f.username.value && f.site.value) connect({ ws: f.ws.value, site: f.site.value, username: f.username.value, password: '' });
    else showLogin();
  }

  boot();
})();
