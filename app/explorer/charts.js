// The explorer's two charts, drawn as plain SVG: the timeline of events by their date bounds, and the counts per
// period from /v1/events/timeline. Dates are whole days (UTC day numbers), never times: an imprecise date is drawn
// as the whole span it may fall in, never as a point.

const SVG = 'http://www.w3.org/2000/svg';
const DAY_MS = 86400000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `YYYY-MM-DD` → days since 1970-01-01. */
export function dayNumber(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  return Date.UTC(y, m - 1, d) / DAY_MS;
}

function isoOf(day) {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The first (or, with `last`, the last) day a filter value `YYYY`, `YYYY-MM` or `YYYY-MM-DD` denotes; null if
 * the value is none of those (the API then answers with a problem naming the parameter). */
export function filterDay(value, last) {
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(value || '');
  if (!match) return null;
  const year = Number(match[1]);
  if (match[3]) return Date.UTC(year, Number(match[2]) - 1, Number(match[3])) / DAY_MS;
  if (match[2]) {
    const month = Number(match[2]) - 1;
    return last ? Date.UTC(year, month + 1, 1) / DAY_MS - 1 : Date.UTC(year, month, 1) / DAY_MS;
  }
  return last ? Date.UTC(year + 1, 0, 1) / DAY_MS - 1 : Date.UTC(year, 0, 1) / DAY_MS;
}

function dayLabel(iso) {
  const [y, m, d] = iso.split('-');
  return `${Number(d)} ${MONTHS[Number(m) - 1]} ${y}`;
}

function monthLabel(iso) {
  return `${MONTHS[Number(iso.slice(5, 7)) - 1]} ${iso.slice(0, 4)}`;
}

/** A date as a reader says it, at the precision the source gives: "22 Jul 2019", "Sep 2018", "2018–2020". */
export function dateLabel(date) {
  const { start, end, precision } = date;
  let text;
  if (precision === 'year') {
    const a = start.slice(0, 4);
    const b = end ? end.slice(0, 4) : '…';
    text = a === b ? a : `${a}–${b}`;
  } else if (precision === 'month') {
    const a = monthLabel(start);
    const b = end ? monthLabel(end) : '…';
    text = a === b ? a : `${a} – ${b}`;
  } else {
    text = start === end ? dayLabel(start) : `${dayLabel(start)} – ${end ? dayLabel(end) : '…'}`;
  }
  const flags = [date.approximate && 'approximate', date.uncertain && 'uncertain'].filter(Boolean);
  return flags.length ? `${text} (${flags.join(', ')})` : text;
}

/** How a date is drawn: `exact` (stated days), `uncertain` (a stated day marked ~ or ?), `imprecise` (only a
 * month or year is known, or the record stands for several occurrences). */
export function dateKind(event) {
  const date = event.date;
  if (date.precision !== 'day' || !date.end || (event.quantity || 1) > 1) return 'imprecise';
  return date.approximate || date.uncertain ? 'uncertain' : 'exact';
}

function node(name, attributes, parent) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes || {})) element.setAttribute(key, String(value));
  if (parent) parent.appendChild(element);
  return element;
}

function hatch(svg, id) {
  const defs = node('defs', {}, svg);
  const pattern = node(
    'pattern',
    { id, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
    defs,
  );
  node('rect', { width: 6, height: 6, class: 'hatch-ground' }, pattern);
  node('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'hatch-line' }, pattern);
}

function ticks(svg, x, lo, hi, top, bottom, width) {
  const axis = node('g', { class: 'axis', 'aria-hidden': 'true' }, svg);
  const first = new Date(lo * DAY_MS);
  const monthWidth = ((x(hi) - x(lo)) / Math.max(1, hi - lo)) * 30.4;
  const monthStep = monthWidth >= 30 ? 1 : monthWidth >= 12 ? 3 : 0;
  for (let y = first.getUTCFullYear(), m = first.getUTCMonth(); ; m += 1) {
    if (m === 12) {
      y += 1;
      m = 0;
    }
    const day = Date.UTC(y, m, 1) / DAY_MS;
    if (day > hi) break;
    if (day < lo) continue;
    const px = x(day);
    if (m === 0) {
      node('line', { x1: px, x2: px, y1: top - 14, y2: bottom, class: 'tick-year' }, axis);
      if (px < width - 30) node('text', { x: px + 3, y: top - 16, class: 'tick-label' }, axis).textContent = String(y);
    } else if (monthStep && m % monthStep === 0) {
      node('line', { x1: px, x2: px, y1: top - 4, y2: bottom, class: 'tick-month' }, axis);
      if (monthStep === 1 && monthWidth >= 30 && px < width - 24) {
        node('text', { x: px + 2, y: top - 4, class: 'tick-label minor' }, axis).textContent = MONTHS[m];
      }
    }
  }
}

/**
 * Draw `events` (API event documents) as one row each, by their date bounds, between days `lo` and `hi`
 * (inclusive). `href(event)` gives each bar's link; `onSelect(event)` runs on activation; `selected` is an event
 * id to highlight. Bars are SVG links in one tab stop: ↑/↓ (or ←/→), Home and End move between them.
 */
export function drawTimeline(container, events, { lo, hi, href, onSelect, selected }) {
  container.replaceChildren();
  if (!events.length) return;
  const width = Math.max(280, container.clientWidth || 800);
  const top = 34;
  const row = 34;
  const left = 4;
  const right = width - 4;
  const height = top + events.length * row + 6;
  const x = (day) => left + ((day - lo) / (hi + 1 - lo)) * (right - left);
  const svg = node('svg', {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    class: 'timeline',
    role: 'group',
    'aria-labelledby': 'timeline-h',
    'aria-describedby': 'timeline-hint',
  });
  hatch(svg, 'timeline-hatch');
  ticks(svg, x, lo, hi, top, height, width);
  const links = [];
  events.forEach((event, index) => {
    const kind = dateKind(event);
    const start = dayNumber(event.date.start);
    const end = event.date.end ? dayNumber(event.date.end) : hi;
    const x0 = x(Math.max(start, lo));
    const x1 = Math.max(x0 + 4, x(Math.min(end, hi) + 1));
    const y = top + index * row;
    // The accessible name starts with the visible text (WCAG 2.5.3), so "8× …" is both seen and heard.
    const full = event.quantity > 1 ? `${event.quantity}× ${event.title}` : event.title;
    const label = `${full}, ${dateLabel(event.date)}`;
    const link = node('a', { href: href(event), class: `bar ${kind}`, 'data-event-id': event.id, 'aria-label': label }, svg);
    if (event.id === selected) link.classList.add('selected');
    node('title', {}, link).textContent = label;
    node('rect', { x: 0, y: y + 1, width, height: row - 2, class: 'row-ground' }, link);
    const bar = node('rect', { x: x0, y: y + 18, width: x1 - x0, height: 12, rx: 1, class: 'bar-shape' }, link);
    if (kind === 'imprecise') bar.setAttribute('fill', 'url(#timeline-hatch)');
    if (start < lo) node('path', { d: `M${x0 + 6},${y + 18} l-6,6 l6,6`, class: 'cut' }, link);
    if (end > hi) node('path', { d: `M${x1 - 6},${y + 18} l6,6 l-6,6`, class: 'cut' }, link);
    const chars = Math.max(8, Math.floor((right - left) / 7) - 2);
    // Cut at a word so that the visible text stays a prefix of the accessible name; the ellipsis is decoration.
    const text = full.length > chars ? full.slice(0, full.lastIndexOf(' ', chars) > 0 ? full.lastIndexOf(' ', chars) : chars) : full;
    const textX = Math.min(Math.max(left, x0), Math.max(left, right - (text.length + 2) * 7));
    const caption = node('text', { x: textX, y: y + 13, class: 'bar-label' }, link);
    caption.textContent = text;
    if (text !== full) node('tspan', { 'aria-hidden': 'true' }, caption).textContent = ' …';
    link.addEventListener('click', (click) => {
      if (click.metaKey || click.ctrlKey || click.shiftKey) return;
      click.preventDefault();
      onSelect(event);
    });
    links.push(link);
  });
  const current = Math.max(0, links.findIndex((link) => link.classList.contains('selected')));
  links.forEach((link, index) => link.setAttribute('tabindex', index === current ? '0' : '-1'));
  svg.addEventListener('keydown', (key) => {
    const at = links.indexOf(document.activeElement);
    if (at < 0) return;
    const to = { ArrowDown: at + 1, ArrowRight: at + 1, ArrowUp: at - 1, ArrowLeft: at - 1, Home: 0, End: links.length - 1 }[key.key];
    if (key.key === 'Enter' || key.key === ' ') {
      key.preventDefault();
      onSelect(events[at]);
      return;
    }
    if (to === undefined) return;
    key.preventDefault();
    const next = links[Math.min(links.length - 1, Math.max(0, to))];
    links.forEach((link) => link.setAttribute('tabindex', link === next ? '0' : '-1'));
    next.focus();
  });
  container.appendChild(svg);
}

function periodLabel(bucket, interval) {
  if (interval === 'year') return bucket.start.slice(0, 4);
  if (interval === 'month') return monthLabel(bucket.start);
  return bucket.start === bucket.end ? dayLabel(bucket.start) : `${dayLabel(bucket.start)} – ${dayLabel(bucket.end)}`;
}

/** The filter value (`YYYY`, `YYYY-MM`) naming one bucket's period. */
export function periodValue(bucket, interval) {
  if (interval === 'year') return bucket.start.slice(0, 4);
  if (interval === 'month') return bucket.start.slice(0, 7);
  return bucket.start;
}

/**
 * Draw the counts of /v1/events/timeline: per period, `count` (events dated within it) as a solid bar and
 * `imprecise` (events that may fall in it) hatched above it, so neither is mistaken for the other. The SVG is a
 * picture for sighted mouse users (hidden from assistive technology); `table` gets the same numbers as a table
 * with a link per period. `onPeriod(bucket)` runs when a period is chosen.
 */
export function drawCounts(container, table, timeline, { href, onPeriod }) {
  container.replaceChildren();
  table.replaceChildren();
  const buckets = timeline.buckets;
  if (!buckets.length) return;
  const width = Math.max(280, container.clientWidth || 800);
  const height = 150;
  const top = 16;
  const bottom = height - 22;
  const left = 28;
  const max = Math.max(1, ...buckets.map((b) => b.count + b.imprecise));
  const step = (width - left - 4) / buckets.length;
  const y = (n) => bottom - (n / max) * (bottom - top);
  const svg = node('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'counts', 'aria-hidden': 'true' });
  hatch(svg, 'counts-hatch');
  const axis = node('g', { class: 'axis' }, svg);
  for (const value of [0, max]) {
    node('line', { x1: left - 3, x2: width - 4, y1: y(value), y2: y(value), class: 'tick-month' }, axis);
    node('text', { x: left - 6, y: y(value) + 4, class: 'tick-label end' }, axis).textContent = String(value);
  }
  let lastYear = null;
  buckets.forEach((bucket, index) => {
    const x0 = left + index * step;
    const group = node('g', { class: 'period', 'data-start': bucket.start }, svg);
    node('title', {}, group).textContent =
      `${periodLabel(bucket, timeline.interval)}: ${bucket.count} dated within, ${bucket.imprecise} imprecise`;
    node('rect', { x: x0, y: top, width: step, height: bottom - top, class: 'period-ground' }, group);
    const w = Math.max(1, step - Math.min(4, step * 0.2));
    if (bucket.count) {
      node('rect', { x: x0, y: y(bucket.count), width: w, height: bottom - y(bucket.count), class: 'count' }, group);
    }
    if (bucket.imprecise) {
      const base = y(bucket.count);
      const h = base - y(bucket.count + bucket.imprecise);
      node('rect', { x: x0, y: base - h, width: w, height: h, class: 'imprecise', fill: 'url(#counts-hatch)' }, group);
    }
    group.addEventListener('click', () => onPeriod(bucket));
    const year = bucket.start.slice(0, 4);
    if (year !== lastYear && (timeline.interval !== 'month' || bucket.start.slice(5, 7) === '01' || index === 0)) {
      lastYear = year;
      node('text', { x: x0 + 1, y: height - 6, class: 'tick-label' }, axis).textContent =
        timeline.interval === 'day' ? periodLabel(bucket, 'day') : year;
    }
  });
  container.appendChild(svg);

  const grid = document.createElement('table');
  grid.innerHTML =
    '<thead><tr><th scope="col">Period</th><th scope="col">Dated within</th><th scope="col">Imprecise</th></tr></thead>';
  const body = document.createElement('tbody');
  for (const bucket of buckets) {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    const link = document.createElement('a');
    link.href = href(bucket);
    link.textContent = periodLabel(bucket, timeline.interval);
    link.addEventListener('click', (click) => {
      if (click.metaKey || click.ctrlKey || click.shiftKey) return;
      click.preventDefault();
      onPeriod(bucket);
    });
    th.appendChild(link);
    tr.appendChild(th);
    for (const value of [bucket.count, bucket.imprecise]) {
      const td = document.createElement('td');
      td.textContent = String(value);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  grid.appendChild(body);
  table.appendChild(grid);
}

export { isoOf };
