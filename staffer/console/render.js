// staffer console: formatting and DOM rendering (no MQTT here; see console.js).
// Everything from the wire is put into the page with textContent, never as HTML.
'use strict';

const Render = (() => {
  const AMBER_BAND = 0.05; // up to 5 points below the goal is amber, further below red

  // ---- formatting ------------------------------------------------------------------------
  const pct = (x) => (x == null ? '—' : `${Math.round(x * 100)}%`);
  const num = (x) => (x == null ? '—' : String(x));

  function dur(s) {
    if (s == null || !Number.isFinite(s)) return '—';
    s = Math.max(0, s);
    if (s < 60) return `${Math.round(s)} s`;
    if (s < 3600) return `${Math.round(s / 60)} min`;
    const h = Math.floor(s / 3600);
    const m = Math.round((s - h * 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }

  function clock(ts) {
    const d = typeof ts === 'number' ? new Date(ts) : new Date(Date.parse(ts));
    if (Number.isNaN(d.getTime())) return '—';
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }

  const secondsUntil = (ts) => (Date.parse(ts) - Date.now()) / 1000;
  const short = (id) => (id == null ? '—' : String(id).slice(0, 8));

  function level(sl, goal) {
    if (sl == null || goal == null) return 'none';
    if (sl >= goal) return 'ok';
    return sl >= goal - AMBER_BAND ? 'warn' : 'bad';
  }

  // ---- tiny DOM helpers ------------------------------------------------------------------
  function h(tag, props, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k.startsWith('data-') || k === 'title' || k === 'type') node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const kid of kids) if (kid != null) node.append(kid);
    return node;
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function setAttr(node, name, value) {
    if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }

  // Replace a list's items, keeping the "empty" note in step.
  function fill(listId, items) {
    const list = document.getElementById(listId);
    list.replaceChildren(...items);
    document.getElementById(`${listId}-empty`).hidden = items.length > 0;
  }

  // ---- queues ----------------------------------------------------------------------------
  const CELLS = ['name', 'predicted', 'observed', 'waiting', 'assigned', 'target', 'required', 'asa', 'data'];

  function queueRow(id) {
    const row = h('tr', { 'data-queue': id });
    for (const c of CELLS) row.append(h('td', { 'data-field': c }));
    const [name, pred, obs, , , target, , asa, data] = row.children;
    name.append(h('span', { class: 'qid' }, id), h('span', { class: 'sub' }));
    pred.append(h('span', { class: 'sl' }));
    obs.append(h('span', { class: 'sl' }));
    target.append(h('span', { class: 'big' }), h('span', { class: 'delta' }));
    asa.append(h('span', { class: 'line' }), h('span', { class: 'line sub' }));
    data.append(h('span', { class: 'age' }));
    return row;
  }

  function slCell(td, sl, goal, stale) {
    const pill = td.firstChild;
    setText(pill, pct(sl));
    setAttr(pill, 'data-level', stale ? 'none' : level(sl, goal));
  }

  function updateRow(row, q) {
    const [name, pred, obs, waiting, assigned, target, required, asa, data] = row.children;
    const stale = q.stale === true;
    setAttr(row, 'data-stale', String(stale));
    setText(name.lastChild, `${q.channel || ''} · goal ${pct(q.sl_target)} in ${dur(q.target_s)}`);
    slCell(pred, q.predicted_service_level, q.sl_target, stale);
    slCell(obs, q.observed_service_level, q.sl_target, stale);
    setText(waiting, num(q.waiting));
    setText(assigned, num(q.assigned));
    setText(target.firstChild, num(q.target));
    const delta = q.target != null && q.assigned != null ? q.target - q.assigned : 0;
    setText(target.lastChild, delta > 0 ? `+${delta}` : delta < 0 ? `−${-delta}` : '');
    setText(required, num(q.required));
    // null ASA on a queue with data: under-staffed, the wait grows without bound
    setText(asa.firstChild, `ASA ${stale ? '—' : q.predicted_asa_s == null ? '∞' : dur(q.predicted_asa_s)}`);
    setText(asa.lastChild, `abandon ${pct(q.predicted_abandon_ratio)}`);
    const age = data.firstChild;
    if (stale) setText(age, q.data_age_s == null ? 'no data' : `stale · ${dur(q.data_age_s)}`);
    else setText(age, q.data_age_s == null ? '—' : dur(q.data_age_s));
    setAttr(age, 'data-level', stale ? 'bad' : 'none');
  }

  function queues(plan) {
    const tbody = document.getElementById('queue-rows');
    const entries = Object.entries((plan && plan.queues) || {});
    const keep = new Set(entries.map(([id]) => id));
    for (const row of [...tbody.children]) if (!keep.has(row.dataset.queue)) row.remove();
    entries.forEach(([id, q], i) => {
      let row = tbody.querySelector(`tr[data-queue="${CSS.escape(id)}"]`);
      if (!row) row = queueRow(id);
      updateRow(row, q);
      if (tbody.children[i] !== row) tbody.insertBefore(row, tbody.children[i] || null);
    });
    document.getElementById('queues-empty').hidden = entries.length > 0;
  }

  // ---- header ----------------------------------------------------------------------------
  function planAge(plan, intervalS) {
    const chip = document.getElementById('plan-age');
    if (!plan) {
      setText(chip, 'no plan yet');
      setAttr(chip, 'data-level', 'none');
      return;
    }
    const age = Math.max(0, (Date.now() - Date.parse(plan.as_of)) / 1000);
    const lvl = age <= 1.5 * intervalS ? 'ok' : age <= 3 * intervalS ? 'warn' : 'bad';
    setText(chip, `plan ${dur(age)} old`);
    setAttr(chip, 'data-level', lvl);
    setText(document.getElementById('plan-asof'), `as of ${clock(plan.as_of)} · ${plan.plan_id || ''}`);
  }

  function mode(plan) {
    const chip = document.getElementById('mode');
    const m = plan && plan.mode ? plan.mode : '';
    setText(chip, m ? `mode ${m}` : 'mode —');
    setAttr(chip, 'data-mode', m);
  }

  function daemon(status) {
    const chip = document.getElementById('daemon');
    const s = status && status.status ? status.status : '';
    setText(chip, s ? `daemon ${s}${status.version ? ` · ${status.version}` : ''}` : 'daemon —');
    setAttr(chip, 'data-state', s);
    setAttr(document.body, 'data-daemon', s);
  }

  // ---- proposals, overrides, moves, replies ----------------------------------------------
  const READ_ONLY = 'shadow mode: proposals are read-only (set the mode to approve to act on them)';
  const moveText = (p) => `${p.agent} ${p.from || '?'} → ${p.to}`;

  // readOnly (shadow mode): shown, buttons disabled with the reason as their tooltip.
  function proposals(list, pending, readOnly) {
    const off = readOnly ? READ_ONLY : null;
    const items = list.map((p) => {
      const busy = pending.get(p.proposal_id);
      return h('li', { class: 'item proposal', 'data-proposal-id': p.proposal_id },
        h('div', { class: 'line main' },
          h('b', {}, p.agent), ` ${p.from || '?'} → ${p.to}`),
        h('div', { class: 'line sub', title: p.reason || '' }, p.reason || ''),
        h('div', { class: 'line meta', 'data-expires': p.expires_at || '' }, expiry(p.expires_at)),
        h('div', { class: 'buttons' },
          h('button', { type: 'button', class: 'approve', 'data-action': 'approve', disabled: !!busy || readOnly, title: off }, busy === 'approve' ? 'Approving…' : 'Approve'),
          h('button', { type: 'button', class: 'reject ghost', 'data-action': 'reject', disabled: !!busy || readOnly, title: off }, busy === 'reject' ? 'Rejecting…' : 'Reject')));
    });
    fill('proposals', items);
    setText(document.getElementById('proposal-count'), String(list.length));
    document.getElementById('approve-all').disabled = list.length === 0 || readOnly;
    document.getElementById('proposals-read-only').hidden = !(readOnly && list.length);
  }

  function expiry(ts) {
    if (!ts) return 'no expiry';
    const left = secondsUntil(ts);
    return left > 0 ? `expires in ${dur(left)} · ${clock(ts)}` : `expired ${clock(ts)}`;
  }

  function overrideSummary(o) {
    switch (o.action) {
      case 'pin': return `pin ${o.queue}${o.min != null ? ` ≥ ${o.min}` : ''}${o.max != null ? ` ≤ ${o.max}` : ''}`;
      case 'target': return `goal ${o.queue}${o.sl_target != null ? ` ${pct(o.sl_target)}` : ''}${o.target_s != null ? ` in ${dur(o.target_s)}` : ''}`;
      case 'mode': return `mode ${o.mode}`;
      case 'lock_agent': return `lock ${o.agent}`;
      case 'assign': return `assign ${o.agent} → ${o.queue}`;
      default: return o.action;
    }
  }

  function overrides(list) {
    const items = list.map((o) =>
      h('li', { class: 'item override', 'data-override-id': o.override_id, 'data-action-kind': o.action },
        h('div', { class: 'line main' }, overrideSummary(o)),
        h('div', { class: 'line meta', 'data-expires': o.expires_at || '' },
          `by ${o.supervisor} · ${o.expires_at ? expiry(o.expires_at).replace('expires ', '') : 'until changed'}`),
        o.reason ? h('div', { class: 'line sub', title: o.reason }, o.reason) : null,
        h('div', { class: 'buttons' },
          h('button', { type: 'button', class: 'ghost reject', 'data-action': 'cancel' }, 'Cancel'))));
    fill('overrides', items);
    setText(document.getElementById('override-count'), String(list.length));
  }

  function moves(list) {
    const items = list.map((m) => {
      const [kind, who] = m.approved_by ? ['approved', `approved by ${m.approved_by}`]
        : m.mode === 'assign' ? ['assign', 'supervisor assign'] : ['planner', `planner · ${m.mode || '?'}`];
      return h('li', { class: 'item move', 'data-command-id': m.command_id },
        h('span', { class: 'when' }, clock(m.ts)),
        h('span', { class: 'what' }, h('b', {}, m.agent), ` ${m.from || '?'} → ${m.to}`),
        h('span', { class: 'who', 'data-kind': kind }, who),
        h('span', { class: 'why', title: m.reason || '' }, m.reason || ''));
    });
    fill('moves', items);
  }

  function replies(list) {
    const items = list.map((r) =>
      h('li', { class: 'item reply', 'data-request-id': r.id, 'data-outcome': r.outcome },
        h('span', { class: 'when' }, clock(r.sentAt)),
        h('span', { class: 'what' }, r.summary),
        h('span', { class: 'outcome' }, r.text)));
    fill('replies', items);
  }

  // Seconds-based texts (ages, expiries) without re-rendering the lists.
  function tickExpiries() {
    for (const node of document.querySelectorAll('.proposal [data-expires]')) setText(node, expiry(node.dataset.expires || null));
    for (const node of document.querySelectorAll('.override [data-expires]')) {
      const ts = node.dataset.expires;
      if (ts) setText(node, node.textContent.replace(/ · .*$/, ` · ${expiry(ts).replace('expires ', '')}`));
    }
  }

  function options(select, values) {
    const current = select.value;
    if ([...select.options].map((o) => o.value).join('\n') === values.join('\n')) return;
    select.replaceChildren(...values.map((v) => h('option', { value: v }, v)));
    if (values.includes(current)) select.value = current;
  }

  return { pct, dur, clock, short, moveText, queues, planAge, mode, daemon, proposals, overrides, moves, replies, tickExpiries, options, h };
})();
