// A small typed client, as a frontend developer would write one on top of the types that openapi-typescript
// generates from /openapi.json (schema.d.ts, not committed: `npm run generate`). It exists to be type-checked
// (`tsc --noEmit --strict`, tests/test_typescript_client.py): each function leans on one promise of the OpenAPI
// document, and a document that breaks it breaks the build instead of a user's code.
import type { components, operations } from "./schema";

// Operations are looked up by their stable operation ids, not by path.
type ListEvents = operations["listEvents"];
type GetEvent = operations["getEvent"];
type GetActor = operations["getActor"];
type ExportEventsCsv = operations["exportEventsCsv"];

export type EventQuery = NonNullable<ListEvents["parameters"]["query"]>;
export type EventPage = ListEvents["responses"][200]["content"]["application/json"];
export type Event = GetEvent["responses"][200]["content"]["application/json"];
export type Actor = GetActor["responses"][200]["content"]["application/json"];
// Error bodies are typed problem documents under the media type the API sends them with.
export type Problem = components["schemas"]["Problem"];
export type BadRequest = ListEvents["responses"][400]["content"]["application/problem+json"];
export type NotFound = GetEvent["responses"][404]["content"]["application/problem+json"];
// An export is its own operation with exactly one media type, so its body has a type of its own.
export type ExportQuery = NonNullable<ExportEventsCsv["parameters"]["query"]>;
export type EventsCsv = ExportEventsCsv["responses"][200]["content"]["text/csv"];

export type Result<T> = { ok: true; value: T } | { ok: false; problem: Problem };

/** `query` as a query string: repeated values become repeated parameters (`actor=a&actor=b`). */
export function queryString(query: object): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    for (const one of Array.isArray(value) ? value : [value]) search.append(name, String(one));
  }
  return search.toString();
}

async function problemOf(response: Response): Promise<Problem> {
  const problem: BadRequest | NotFound = await response.json();
  return problem;
}

/** One page of events; a 400 (unknown actor, bad date, …) comes back as its problem document. */
export async function listEvents(base: string, query: EventQuery): Promise<Result<EventPage>> {
  const response = await fetch(`${base}/v1/events?${queryString(query)}`);
  if (response.status === 400) return { ok: false, problem: await problemOf(response) };
  const page: EventPage = await response.json();
  return { ok: true, value: page };
}

/** Every event matching `query`, following `next_cursor` until the last page. */
export async function allEvents(base: string, query: EventQuery): Promise<Event[]> {
  const events: Event[] = [];
  let cursor: string | null = null;
  do {
    const page: Result<EventPage> = await listEvents(base, cursor === null ? query : { ...query, cursor });
    if (!page.ok) throw new Error(`${page.problem.status} ${page.problem.detail}`);
    events.push(...page.value.items);
    cursor = page.value.next_cursor;
  } while (cursor !== null);
  return events;
}

/** The first day of the first event of a page: always present on an event, so a plain string. */
export function firstStart(page: EventPage): string | undefined {
  const first = page.items[0];
  if (first === undefined) return undefined;
  const start: string = first.date.start;
  return start;
}

/** Fields every page carries, whatever its filters. */
export function provenance(page: EventPage): { version: string; url: string; total: number } {
  return { version: page.dataset_version, url: page.query_url, total: page.total };
}

/** What a 400 says went wrong: the offending parameter and the status, read from the typed problem document. */
export function whatWentWrong(problem: BadRequest): { parameter: string | null | undefined; status: number } {
  return { parameter: problem.parameter, status: problem.status };
}

/** One event, or the 404 problem document when there is no such id. */
export async function getEvent(base: string, id: string): Promise<Result<Event>> {
  const response = await fetch(`${base}/v1/events/${encodeURIComponent(id)}`);
  if (response.status === 404) {
    const problem: NotFound = await response.json();
    return { ok: false, problem };
  }
  const event: Event = await response.json();
  return { ok: true, value: event };
}

/** One actor by id. */
export async function getActor(base: string, id: string): Promise<Actor> {
  const response = await fetch(`${base}/v1/actors/${encodeURIComponent(id)}`);
  if (!response.ok) throw new Error(`${response.status} ${(await problemOf(response)).detail}`);
  const actor: Actor = await response.json();
  return actor;
}

/** The events matching `query` as CSV, read as text. */
export async function exportEventsCsv(base: string, query: ExportQuery): Promise<EventsCsv> {
  const response = await fetch(`${base}/v1/events/export.csv?${queryString(query)}`);
  if (!response.ok) throw new Error(`${response.status} ${(await problemOf(response)).detail}`);
  const csv: EventsCsv = await response.text();
  return csv;
}
