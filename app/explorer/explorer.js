// The dipevents event explorer. It uses only the public API, at URLs relative to this page (served at the API's
// root), so it works offline and below a path prefix. The page's own URL holds the API's filter parameters
// unchanged (plus `event`, the open record, and `interval`, the counts' period), so a view can be shared,
// reloaded and replayed with curl.
import { dateKind, dateLabel, dayNumber, drawCounts, drawTimeline, filterDay, periodValue } from './charts.js';

const PAGE_SIZE = 20; // list page; "Load more" follows the keyset cursor
const TIMELINE_PAGE = 500; // the API's largest page
const TIMELINE_MAX = 2000; // the timeline draws at most this many rows (the list still pages through all)
const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------------------------------------ the API

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** GET a JSON resource; a non-2xx answer raises ApiError carrying the RFC 9457 problem document. */
async function api(path, params) {
  const query = params ? params.toString() : '';
  const response = await fetch(query ? `${path}?${query}` : path, { headers: { Accept: 'application/json' } });
  if (!response.ok) {
    let problem = {};
    try {
      problem = await response.json();
    } catch {
      // not a problem document: keep the status
    }
    problem.retryAfter = response.headers.get('Retry-After');
    throw new ApiError(response.status, problem);
  }
  return response.json();
}

/** Every item of a list, following `next_cursor`, up to `max` items. */
async function allItems(path, params, max) {
  const items = [];
  let cursor = null;
  let total = 0;
  do {
    const query = new URLSearchParams(params);
    query.set('limit', String(TIMELINE_PAGE));
    if (cursor) query.set('cursor', cursor);
    const page = await api(path, query);
    items.push(...page.items);
    total = page.total;
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return { items: items.slice(0, max), total, complete: !cursor };
}

// ------------------------------------------------------------------------------------------ state ⇄ URL

const EMPTY = {
  start: '',
  end: '',
  within: false,
  actors: [],
  actorMatch: 'any',
  topics: [],
  types: [],
  q: '',
  event: null,
  interval: '',
};

function split(values) {
  return [...new Set(values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean))];
}

/** The view a page URL's query names. `actor=a,b` is "any of", `actor=a&actor=b` "all of" (the API's rule). */
/** What a (hand-written or API) URL asks for that this page cannot show as the API reads it: each a sentence. */
function unreadParts(p) {
  const known = ['start', 'end', 'date_match', 'actor', 'topic', 'type', 'q', 'event', 'interval'];
  const notes = [];
  for (const name of new Set(p.keys())) {
    const count = p.getAll(name).length;
    if (!known.includes(name)) notes.push(`“${name}” is not one of the explorer's filters and is left out`);
    else if (['topic', 'type'].includes(name) && count > 1)
      notes.push(`“${name}” is given ${count} times (the API: all of them); the explorer shows any of them`);
    else if (name === 'actor' && count > 1 && p.getAll(name).some((v) => v.includes(',')))
      notes.push('“actor” mixes any-of (commas) and all-of (repeats); the explorer shows all of them');
    else if (!['actor', 'topic', 'type'].includes(name) && count > 1)
      notes.push(`“${name}” is given ${count} times; the explorer uses the first`);
  }
  const match = p.get('date_match');
  if (match && !['within', 'overlap'].includes(match)) notes.push(`date_match=${match} is not overlap or within`);
  return notes;
}

function fromQuery(search) {
  const p = new URLSearchParams(search);
  const actorParams = p.getAll('actor');
  return {
    unread: unreadParts(p),
    ...EMPTY,
    start: p.get('start') || '',
    end: p.get('end') || '',
    within: p.get('date_match') === 'within',
    actors: split(actorParams),
    actorMatch: actorParams.length > 1 ? 'all' : 'any',
    topics: split(p.getAll('topic')),
    types: split(p.getAll('type')),
    q: p.get('q') || '',
    event: p.get('event'),
    interval: ['month', 'year'].includes(p.get('interval')) ? p.get('interval') : '',
  };
}

/** The API's filter parameters for a view, in a stable order. */
function filterQuery(view) {
  const p = new URLSearchParams();
  if (view.start) p.set('start', view.start);
  if (view.end) p.set('end', view.end);
  if (view.within) p.set('date_match', 'within');
  if (view.actors.length) {
    if (view.actorMatch === 'all') view.actors.forEach((a) => p.append('actor', a));
    else p.set('actor', view.actors.join(','));
  }
  if (view.topics.length) p.set('topic', view.topics.join(','));
  if (view.types.length) p.set('type', view.types.join(','));
  if (view.q) p.set('q', view.q);
  return p;
}

/** A query string that keeps commas readable (they separate "any of" values). */
function queryText(params) {
  return [...params].map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ',')}`).join('&');
}

function pageUrl(view) {
  const p = filterQuery(view);
  if (view.interval) p.set('interval', view.interval);
  if (view.event) p.set('event', view.event);
  const query = queryText(p);
  return query ? `${location.pathname}?${query}` : location.pathname;
}

function withQuery(path, params) {
  const query = queryText(params);
  return query ? `${path}?${query}` : path;
}

// ------------------------------------------------------------------------------------- reference data

const names = { actors: new Map(), topics: new Map(), types: new Map(), roles: new Map(), sources: new Map() };

async function loadVocabularies() {
  const [vocab, topics] = await Promise.all([api('v1/vocabularies'), allItems('v1/topics', new URLSearchParams(), 5000)]);
  for (const [id, type] of Object.entries(vocab.event_types)) names.types.set(id, type.label);
  for (const [id, description] of Object.entries(vocab.roles)) names.roles.set(id, description);
  for (const topic of topics.items) names.topics.set(topic.id, topic);
  renderTypeChoices();
  renderTopicTree(topics.items);
}

async function actorName(id) {
  if (!names.actors.has(id)) {
    try {
      names.actors.set(id, (await api(`v1/actors/${encodeURIComponent(id)}`)).name);
    } catch {
      names.actors.set(id, id); // the events query names the unknown id in its problem
    }
  }
  return names.actors.get(id);
}

function source(id) {
  if (!names.sources.has(id)) names.sources.set(id, api(`v1/sources/${encodeURIComponent(id)}`).catch(() => null));
  return names.sources.get(id);
}

// ------------------------------------------------------------------------------------------- the filters

function element(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
  return el;
}

function renderTypeChoices() {
  const box = $('types');
  box.replaceChildren(
    ...[...names.types].map(([id, label]) =>
      element(
        'div',
        { class: 'check' },
        element('input', { type: 'checkbox', id: `type-${id}`, name: 'type', value: id }),
        element('label', { for: `type-${id}`, text: label }),
      ),
    ),
  );
}

function renderTopicTree(topics) {
  const children = new Map();
  for (const topic of topics) {
    const parent = topic.parent || '';
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(topic);
  }
  const branch = (parent) =>
    element(
      'ul',
      { class: 'tree' },
      (children.get(parent) || [])
        .sort((a, b) => a.label.localeCompare(b.label))
        .map((topic) =>
          element(
            'li',
            {},
            element(
              'div',
              { class: 'check' },
              element('input', { type: 'checkbox', id: `topic-${topic.id}`, name: 'topic', value: topic.id }),
              element('label', { for: `topic-${topic.id}`, text: topic.label }),
            ),
            children.has(topic.id) ? branch(topic.id) : null,
          ),
        ),
    );
  $('topic-tree').replaceChildren(branch(''));
}

async function renderChips() {
  const chips = $('actor-chips');
  const ids = view.actors;
  const labels = await Promise.all(ids.map(actorName));
  if (ids !== view.actors) return; // a newer view renders its own chips
  chips.replaceChildren(
    ...ids.map((id, index) =>
      element(
        'li',
        { 'data-actor-id': id },
        element('span', { text: labels[index] }),
        element('button', {
          type: 'button',
          class: 'chip-remove',
          'aria-label': `Remove ${labels[index]}`,
          'data-remove': id,
          text: '×',
        }),
      ),
    ),
  );
}

/** Put a view into the form controls. */
function fillForm(v) {
  $('f-start').value = v.start;
  $('f-end').value = v.end;
  $('f-within').checked = v.within;
  $('f-q').value = v.q;
  $(v.actorMatch === 'all' ? 'f-all' : 'f-any').checked = true;
  $('f-interval').value = v.interval;
  for (const box of document.querySelectorAll('input[name=topic]')) box.checked = v.topics.includes(box.value);
  for (const box of document.querySelectorAll('input[name=type]')) box.checked = v.types.includes(box.value);
  $('topics-count').textContent = v.topics.length ? `(${v.topics.length} chosen)` : '';
  $('types-count').textContent = v.types.length ? `(${v.types.length} chosen)` : '';
  if (v.topics.length) $('topics-box').open = true;
  if (v.types.length) $('types-box').open = true;
  renderChips();
}

/** The view the form controls describe (actors come from the chips, kept in `view`). */
function readForm() {
  const checked = (name) => [...document.querySelectorAll(`input[name=${name}]:checked`)].map((box) => box.value);
  return {
    ...view,
    start: $('f-start').value.trim(),
    end: $('f-end').value.trim(),
    within: $('f-within').checked,
    q: $('f-q').value.trim(),
    actorMatch: $('f-all').checked ? 'all' : 'any',
    topics: checked('topic'),
    types: checked('type'),
    interval: $('f-interval').value,
  };
}

/** Typeahead order: the name typed exactly, then names starting with it, then names with a word starting with
 * it, then aliases; alphabetical within each (the API's order, stable sort). */
function rankActors(actors, typed) {
  const text = typed.trim().toLowerCase();
  const rank = (actor) => {
    const name = actor.name.toLowerCase();
    if (name === text) return 0;
    if (name.startsWith(text)) return 1;
    if (name.split(/[^\p{L}\p{N}]+/u).some((word) => word.startsWith(text))) return 2;
    return 3;
  };
  return [...actors].sort((a, b) => rank(a) - rank(b));
}

// The actor typeahead: a WAI-ARIA 1.2 combobox with a listbox popup, fed by /v1/actors?q=.
function setupTypeahead() {
  const input = $('f-actor');
  const list = $('actor-options');
  let options = [];
  let active = -1;
  let timer = null;
  let asked = 0;

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const highlight = (index) => {
    active = index;
    [...list.children].forEach((li, i) => li.setAttribute('aria-selected', String(i === index)));
    if (index >= 0) input.setAttribute('aria-activedescendant', list.children[index].id);
    else input.removeAttribute('aria-activedescendant');
  };
  const choose = (actor) => {
    names.actors.set(actor.id, actor.name);
    input.value = '';
    close();
    if (!view.actors.includes(actor.id)) navigate({ ...readForm(), actors: [...view.actors, actor.id], event: null });
  };
  const search = async () => {
    const text = input.value.trim();
    const ticket = ++asked;
    if (!text) return close();
    // `q` matches whole words (app.search): every typed word becomes a prefix (`pak` → `pak*`). Characters of
    // the query syntax (quotes, `*`, a leading `-`) are dropped rather than sent.
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) || [];
    if (!words.length) return close();
    let page;
    try {
      page = await api('v1/actors', new URLSearchParams({ q: words.map((w) => `${w}*`).join(' '), limit: '30' }));
    } catch (error) {
      return showError(error);
    }
    if (ticket !== asked) return; // a later keystroke's answer wins
    options = rankActors(page.items, text).slice(0, 8);
    list.replaceChildren(
      ...(options.length
        ? options.map((actor, i) =>
            element(
              'li',
              { role: 'option', id: `actor-option-${i}`, 'data-actor-id': actor.id, 'aria-selected': 'false' },
              element('span', { text: actor.name }),
              element('span', { class: 'hint', text: ` ${actor.kind.replace(/_/g, ' ')}${actor.country ? ` · ${actor.country}` : ''}` }),
            ),
          )
        : [element('li', { class: 'hint', role: 'option', 'aria-disabled': 'true', text: 'No actor matches' })]),
    );
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    highlight(options.length ? 0 : -1);
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
  input.addEventListener('keydown', (key) => {
    if (key.key === 'ArrowDown' || key.key === 'ArrowUp') {
      key.preventDefault();
      if (list.hidden) return search();
      if (!options.length) return;
      highlight((active + (key.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length);
    } else if (key.key === 'Enter') {
      key.preventDefault(); // never submits the form: Enter chooses
      if (!list.hidden && active >= 0) choose(options[active]);
    } else if (key.key === 'Escape') {
      close();
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
  list.addEventListener('mousedown', (press) => {
    const li = press.target.closest('[data-actor-id]');
    if (!li) return;
    press.preventDefault();
    choose(options.find((actor) => actor.id === li.dataset.actorId));
  });
  $('actor-chips').addEventListener('click', (click) => {
    const id = click.target.dataset && click.target.dataset.remove;
    if (id) {
      navigate({ ...readForm(), actors: view.actors.filter((a) => a !== id), event: null });
      input.focus();
    }
  });
}

// --------------------------------------------------------------------------------------- loading a view

let view = { ...EMPTY };
let generation = 0; // answers to an older view are dropped
let nextCursor = null;
let meta = null;

function showError(error) {
  const box = $('error');
  for (const input of document.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  if (!error) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const problem = error.problem || {};
  const field = { start: 'f-start', end: 'f-end', q: 'f-q', date_match: 'f-within', interval: 'f-interval' }[problem.parameter];
  if (field) $(field).setAttribute('aria-invalid', 'true');
  let text = error.message;
  if (error.status === 429 || error.status === 503) text += ` Try again in ${problem.retryAfter || 'a few'} seconds.`;
  const parts = [element('strong', { text: problem.title || 'The API could not answer' }), ' ', element('span', { text })];
  if (problem.request_id) parts.push(element('span', { class: 'hint', text: ` (request ${problem.request_id})` }));
  box.replaceChildren(...parts);
  box.hidden = false;
}

function sameFilters(a, b) {
  return queryText(filterQuery(a)) === queryText(filterQuery(b));
}

/** Show `next` and record it in the history (`push`) or in place; reload only what changed. */
function navigate(next, { push = true } = {}) {
  const previous = view;
  view = next;
  const url = pageUrl(view);
  if (url !== location.pathname + location.search) history[push ? 'pushState' : 'replaceState'](null, '', url);
  fillForm(view);
  if (!sameFilters(previous, view) || previous === next) {
    loadResults();
  } else if (previous.interval !== view.interval) {
    loadCounts(generation);
  }
  if (previous.event !== view.event || previous === next) loadDetail();
  else markSelected();
}

function loadResults() {
  const ticket = ++generation;
  document.body.dataset.state = 'loading';
  showError(null);
  $('status').textContent = 'Loading…';
  $('event-list').replaceChildren();
  $('more').hidden = true;
  renderExports();
  Promise.all([loadList(ticket, null), loadTimeline(ticket), loadCounts(ticket)]).then(
    () => {
      if (ticket !== generation) return;
      updateStatus();
      markSelected();
      document.body.dataset.state = 'ready';
      if (view.unread && view.unread.length) {
        // Said, not silently changed: the view differs from what the API answers for this URL.
        showError({ message: `${view.unread.join('; ')}.`, problem: { title: 'Part of this URL is not shown as the API reads it:' } });
      }
    },
    (error) => {
      if (ticket !== generation) return;
      document.body.dataset.state = 'error';
      $('status').textContent =
        error instanceof ApiError ? 'No results: the API refused this query.' : 'The page failed to show the results.';
      $('timeline').replaceChildren();
      $('counts').replaceChildren();
      $('counts-table').replaceChildren();
      $('total').textContent = '';
      showError(error);
    },
  );
}

let listTotal = 0;

function updateStatus() {
  const shown = $('event-list').children.length;
  $('status').textContent =
    listTotal === 0 ? 'No event matches these filters.' : `${listTotal} event${listTotal === 1 ? '' : 's'} match; the list shows ${shown}.`;
}

async function loadList(ticket, cursor) {
  const query = filterQuery(view);
  query.set('limit', String(PAGE_SIZE));
  if (cursor) query.set('cursor', cursor);
  const page = await api('v1/events', query);
  if (ticket !== generation) return;
  listTotal = page.total;
  $('total').textContent = `(${page.total}${page.total_exact === false ? '+' : ''})`;
  const items = page.items.map(eventItem);
  $('event-list').append(...items);
  nextCursor = page.next_cursor;
  $('more').hidden = !nextCursor;
  return items;
}

function eventItem(event) {
  const people = event.participants.slice(0, 4).map((p) => p.actor.name);
  if (event.participants.length > 4) people.push(`+${event.participants.length - 4}`);
  const link = element('a', { href: pageUrl({ ...view, event: event.id }), 'data-event-id': event.id, text: event.title });
  link.addEventListener('click', (click) => {
    if (click.metaKey || click.ctrlKey || click.shiftKey) return;
    click.preventDefault();
    select(event.id);
  });
  return element(
    'li',
    { class: `event ${dateKind(event)}`, 'data-event-id': event.id },
    link,
    element(
      'p',
      { class: 'meta' },
      element('span', { class: 'date', text: dateLabel(event.date) }),
      event.quantity > 1 ? element('span', { text: ` · ${event.quantity} occurrences` }) : null,
      element('span', { text: ` · ${names.types.get(event.type) || event.type}` }),
      people.length ? element('span', { text: ` · ${people.join(', ')}` }) : null,
    ),
  );
}

async function loadMore() {
  const ticket = generation;
  const before = $('event-list').children.length;
  $('more').disabled = true;
  try {
    await loadList(ticket, nextCursor);
    const first = $('event-list').children[before];
    if (first) first.querySelector('a').focus();
    markSelected();
    updateStatus();
  } catch (error) {
    showError(error);
  } finally {
    $('more').disabled = false;
  }
}

/** The days the timeline spans: the filter's range where given, else the matching events' extent. */
function timelineDomain(events) {
  let lo = filterDay(view.start, false);
  let hi = filterDay(view.end, true);
  if (lo === null) lo = Math.min(...events.map((e) => dayNumber(e.date.start)));
  if (hi === null) {
    const ends = events.map((e) => (e.date.end ? dayNumber(e.date.end) : dayNumber(e.date.start)));
    hi = Math.max(...ends);
  }
  if (hi < lo) hi = lo;
  // Whole months at least, so that a single day has room.
  const first = new Date(lo * 86400000);
  const last = new Date(hi * 86400000);
  lo = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), 1) / 86400000;
  hi = Date.UTC(last.getUTCFullYear(), last.getUTCMonth() + 1, 1) / 86400000 - 1;
  return { lo, hi };
}

let timelineEvents = [];

async function loadTimeline(ticket) {
  const result = await allItems('v1/events', filterQuery(view), TIMELINE_MAX);
  if (ticket !== generation) return;
  timelineEvents = result.items;
  drawTimelineNow();
  const note = $('timeline-note');
  note.textContent = result.complete ? '' : `The timeline shows the first ${result.items.length} of ${result.total} events.`;
  note.hidden = result.complete;
  renderCitedSources(result.items, result.complete);
}

function drawTimelineNow() {
  const box = $('timeline');
  if (!timelineEvents.length) {
    box.replaceChildren(element('p', { class: 'hint', text: 'No event to draw.' }));
    return;
  }
  drawTimeline(box, timelineEvents, {
    ...timelineDomain(timelineEvents),
    href: (event) => pageUrl({ ...view, event: event.id }),
    onSelect: (event) => select(event.id, { from: 'timeline' }),
    selected: view.event,
  });
}

function autoInterval() {
  const lo = filterDay(view.start, false) ?? (meta && meta.date_range.start ? dayNumber(meta.date_range.start) : null);
  const hi = filterDay(view.end, true) ?? (meta && meta.date_range.end ? dayNumber(meta.date_range.end) : null);
  return lo !== null && hi !== null && hi - lo > 366 * 5 ? 'year' : 'month';
}

async function loadCounts(ticket) {
  const query = filterQuery(view);
  const interval = view.interval || autoInterval();
  query.set('interval', interval);
  const timeline = await api('v1/events/timeline', query);
  if (ticket !== generation) return;
  const periodView = (bucket) => ({
    ...view,
    start: periodValue(bucket, timeline.interval),
    end: periodValue(bucket, timeline.interval),
    event: null,
  });
  drawCounts($('counts'), $('counts-table'), timeline, {
    href: (bucket) => pageUrl(periodView(bucket)),
    onPeriod: (bucket) => navigate(periodView(bucket)),
  });
}

function select(id, { from } = {}) {
  navigate({ ...view, event: id });
  if (from !== 'timeline') $('detail-h').focus();
}

function markSelected() {
  for (const node of document.querySelectorAll('.selected')) node.classList.remove('selected');
  for (const node of document.querySelectorAll('[aria-current]')) node.removeAttribute('aria-current');
  if (!view.event) return;
  for (const node of document.querySelectorAll(`[data-event-id="${CSS.escape(view.event)}"]`)) {
    if (node.tagName.toLowerCase() === 'a') {
      node.classList.add('selected');
      node.setAttribute('aria-current', 'true');
    }
  }
}

// ---------------------------------------------------------------------------------------- event detail

function section(title, ...content) {
  return element('section', { class: 'facet' }, element('h3', { text: title }), ...content);
}

async function loadDetail() {
  markSelected();
  const body = $('detail-body');
  $('detail-empty').hidden = Boolean(view.event);
  if (!view.event) {
    $('detail-h').textContent = 'Event';
    body.replaceChildren();
    delete body.dataset.event;
    return;
  }
  const id = view.event;
  body.setAttribute('aria-busy', 'true');
  let event;
  try {
    event = await api(`v1/events/${encodeURIComponent(id)}`);
  } catch (error) {
    if (view.event !== id) return;
    $('detail-h').textContent = 'Event not found';
    body.replaceChildren(element('p', { class: 'problem', text: error.message }));
    body.removeAttribute('aria-busy');
    return;
  }
  const sources = new Map();
  for (const locator of event.locators) sources.set(locator.source, await source(locator.source));
  if (view.event !== id) return;
  $('detail-h').textContent = event.title;
  body.replaceChildren(...renderDetail(event, sources));
  body.removeAttribute('aria-busy');
  body.dataset.event = id;
}

function renderDetail(event, sources) {
  const facts = element(
    'dl',
    { class: 'facts' },
    element('dt', { text: 'Date' }),
    element(
      'dd',
      {},
      element('span', { class: 'date', text: dateLabel(event.date) }),
      element('span', {
        class: 'hint',
        text: ` — EDTF ${event.date.edtf}; may fall ${event.date.start} to ${event.date.end || 'open'}, ${event.date.precision} precision`,
      }),
    ),
    event.quantity > 1 ? [element('dt', { text: 'Occurrences' }), element('dd', { text: String(event.quantity) })] : null,
    element('dt', { text: 'Type' }),
    element('dd', { text: names.types.get(event.type) || event.type }),
    element('dt', { text: 'Location' }),
    element(
      'dd',
      { text: event.location ? [event.location.name, event.location.country].filter(Boolean).join(', ') || 'not stated' : 'not stated' },
    ),
  );
  const parts = [facts, element('p', { class: 'summary', text: event.summary })];
  parts.push(
    section(
      'Participants',
      element(
        'ul',
        { class: 'participants' },
        event.participants.map((p) =>
          element(
            'li',
            {},
            element('span', { text: p.actor.name }),
            ' — ',
            element('span', { class: 'role', title: names.roles.get(p.role) || null, text: p.role.replace(/_/g, ' ') }),
          ),
        ),
      ),
    ),
  );
  parts.push(
    section(
      'Topics',
      element(
        'ul',
        { class: 'inline' },
        event.topics.map((topic) => {
          const link = element('a', { href: pageUrl({ ...EMPTY, topics: [topic.id] }), text: topic.label });
          link.addEventListener('click', (click) => {
            click.preventDefault();
            navigate({ ...EMPTY, interval: view.interval, topics: [topic.id] });
          });
          return element('li', {}, link);
        }),
      ),
    ),
  );
  if (event.quotes.length) {
    parts.push(
      section(
        'Quoted',
        event.quotes.map((quote) =>
          element(
            'figure',
            { class: 'quote' },
            element('blockquote', { text: quote.text }),
            element('figcaption', { text: `${quote.speaker.name}${quote.footnote ? `, footnote ${quote.footnote}` : ''}` }),
          ),
        ),
      ),
    );
  }
  if (event.discrepancies.length) {
    parts.push(
      section(
        'Discrepancies',
        event.discrepancies.map((d) =>
          element(
            'div',
            { class: 'discrepancy' },
            element('p', {}, element('strong', { text: `${d.field}: ` }), d.description),
            element(
              'ul',
              {},
              d.readings.map((r) => element('li', {}, element('span', { class: 'reading', text: r.value }), ` — per ${r.per}`)),
            ),
            element('p', {}, element('strong', { text: 'Resolution: ' }), d.resolution),
          ),
        ),
      ),
    );
  }
  parts.push(section('Sources', renderLocators(event, sources), renderCitations(event.citations)));
  if (event.notes) parts.push(section('Curator’s notes', element('p', { text: event.notes })));
  const related = [
    event.parent ? { id: event.parent, relation: 'part of' } : null,
    ...event.related.map((r) => ({ id: r.event, relation: r.relation.replace(/_/g, ' ') })),
  ].filter(Boolean);
  if (related.length) {
    parts.push(
      section(
        'Related events',
        element(
          'ul',
          {},
          related.map((r) => {
            const known = timelineEvents.find((e) => e.id === r.id);
            const link = element('a', { href: pageUrl({ ...view, event: r.id }), text: known ? known.title : r.id });
            link.addEventListener('click', (click) => {
              click.preventDefault();
              select(r.id);
            });
            return element('li', {}, `${r.relation}: `, link);
          }),
        ),
      ),
    );
  }
  parts.push(element('p', { class: 'hint' }, element('a', { href: `v1/events/${encodeURIComponent(event.id)}`, text: 'This event as JSON' })));
  return parts;
}

function renderLocators(event, sources) {
  return element(
    'ul',
    { class: 'locators', 'aria-label': 'Where the brief states it' },
    event.locators.map((locator) => {
      const doc = sources.get(locator.source);
      const sectionInfo = doc && doc.sections.find((s) => s.key === locator.section);
      const where = [
        `section “${sectionInfo ? sectionInfo.title : locator.section}”`,
        locator.paragraph ? `paragraph ${locator.paragraph}` : null,
        locator.footnote ? `footnote ${locator.footnote}` : null,
      ].filter(Boolean);
      return element(
        'li',
        { class: 'locator', 'data-section': locator.section, 'data-paragraph': locator.paragraph ?? '', 'data-footnote': locator.footnote ?? '' },
        element('cite', { text: doc ? doc.title : locator.source }),
        doc && doc.publisher ? ` (${doc.publisher})` : '',
        `: ${where.join(', ')}`,
        locator.note ? element('span', { class: 'hint', text: ` — ${locator.note}` }) : null,
      );
    }),
  );
}

function citationEntry(citation) {
  return element(
    'li',
    { class: 'citation', 'data-citation-id': citation.id },
    citation.footnote ? element('span', { class: 'footnote', text: `Footnote ${citation.footnote}: ` }) : null,
    citation.publisher ? `${citation.publisher}, ` : '',
    citation.url
      ? element('a', { href: citation.url, rel: 'noopener noreferrer external', text: `“${citation.title}”` })
      : element('span', { text: `“${citation.title}”` }),
    citation.issued ? `, ${citation.issued}` : '',
  );
}

function renderCitations(citations) {
  if (!citations.length) return element('p', { class: 'hint', text: 'No footnoted source backs this record beyond the brief itself.' });
  return element('ol', { class: 'citations', 'aria-label': 'Cited sources' }, citations.map(citationEntry));
}

// ---------------------------------------------------------------------------------------------- exports

function renderExports() {
  const filters = filterQuery(view);
  const link = (href, text, detail) => element('li', {}, element('a', { href, text }), detail ? element('span', { class: 'hint', text: ` ${detail}` }) : null);
  $('exports').replaceChildren(
    link(withQuery('v1/events/export.csv', filters), 'Events as CSV', '(spreadsheets)'),
    link(withQuery('v1/events/export.ics', filters), 'Events as iCalendar', '(calendars; imprecise dates are tentative)'),
    link(withQuery('v1/events/export.ndjson', filters), 'Events as NDJSON'),
    link(withQuery('v1/events', filters), 'This query in the API', '(JSON, first page)'),
    link(withQuery('v1/cite', filters), 'Cite this query', '(CSL-JSON and text, with the dataset version)'),
    element('li', { id: 'cited-sources' }),
  );
}

/** The footnoted sources behind the events in view, and their export as CSL-JSON, RIS and BibTeX. The citation
 * exports filter by source document, not by event, so the links name the documents the events come from. */
function renderCitedSources(events, complete) {
  const cited = new Map();
  const documents = new Set();
  for (const event of events) {
    for (const citation of event.citations) cited.set(citation.id, citation);
    for (const locator of event.locators) documents.add(locator.source);
  }
  const target = $('cited-sources');
  if (!target) return;
  const bySource = new URLSearchParams();
  if (documents.size) bySource.set('source', [...documents].join(','));
  const formats = [
    ['v1/citations/export.json', 'CSL-JSON'],
    ['v1/citations/export.ris', 'RIS'],
    ['v1/citations/export.bib', 'BibTeX'],
  ];
  const list = [...cited.values()].sort((a, b) => (a.footnote ?? 1e9) - (b.footnote ?? 1e9));
  target.replaceChildren(
    ...[
    element('span', { text: `Sources cited by ${complete ? 'these' : 'the first'} ${events.length} events (${list.length}): ` }),
    formats.map(([path, label], i) => [i ? ', ' : '', element('a', { href: withQuery(path, bySource), text: label })]),
    element('span', { class: 'hint', text: ' — every footnote of the source documents of these events, for Zotero and other reference managers.' }),
    list.length ? element('ol', { class: 'citations' }, list.map(citationEntry)) : '',
    ].flat(2),
  );
}

// ------------------------------------------------------------------------------------------------- start

function setup() {
  const form = $('filters');
  form.addEventListener('submit', (submit) => {
    submit.preventDefault();
    const actorText = $('f-actor').value.trim();
    if (actorText) {
      // Typed but not chosen: say so rather than silently leave it out of the query.
      showError({ message: `“${actorText}” is not chosen yet: pick an actor from the list (↓ and Enter), or clear the box.`, problem: { title: 'Choose the actor' } });
      $('f-actor').setAttribute('aria-invalid', 'true');
      $('f-actor').focus();
      return;
    }
    navigate({ ...readForm(), event: null });
  });
  form.addEventListener('change', (change) => {
    // Checkboxes and radios apply at once; typed fields apply on Enter or with the button.
    if (change.target.type === 'checkbox' || change.target.type === 'radio') navigate({ ...readForm(), event: null });
  });
  $('reset').addEventListener('click', () => navigate({ ...EMPTY, interval: view.interval }));
  $('f-interval').addEventListener('change', () => navigate({ ...view, interval: $('f-interval').value }));
  $('more').addEventListener('click', loadMore);
  setupTypeahead();
  window.addEventListener('popstate', () => navigate(fromQuery(location.search), { push: false }));
  let width = window.innerWidth;
  window.addEventListener('resize', () => {
    if (Math.abs(window.innerWidth - width) < 40) return;
    width = window.innerWidth;
    drawTimelineNow();
    loadCounts(generation);
  });
}

async function start() {
  setup();
  try {
    [meta] = await Promise.all([api('v1/meta'), loadVocabularies()]);
  } catch (error) {
    showError(error);
  }
  const first = fromQuery(location.search);
  view = first;
  navigate(first, { push: false });
}

start();
