// Calls to the analyzer API. Writes (pins, rules) carry the admin token, asked
// for once and kept in sessionStorage only (gone when the tab closes).
import type { GraphView } from '../live-graph.ts';
import { decodeView, type ViewRows } from '../view-rows.ts';

const TOKEN_KEY = 'meshscope.adminToken';

export class Unauthorized extends Error {}

/** A write the API refused: `answer` is its message as it is (it names the field and the fix). */
export class Refused extends Error {
  constructor(
    readonly status: number,
    readonly answer: string,
    where: string,
  ) {
    super(`${where}: ${answer}`);
  }
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { signal, headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${(await res.json().catch(() => ({}))).message ?? res.statusText}`);
  return (await res.json()) as T;
}

/** The graph view, fetched as rows (a third of the bytes and a quarter of the parse of objects) and decoded. */
export async function getView(): Promise<GraphView> {
  return decodeView(await getJson<ViewRows>('/api/v1/graph/view?encoding=rows'));
}

export function adminToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setAdminToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
}

/** A write; throws Unauthorized on 401 so the caller can ask for the token and retry. */
export async function write(method: 'PUT' | 'DELETE', url: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = {};
  const token = adminToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = res.status === 204 ? {} : await res.json().catch(() => ({}));
  if (res.status === 401) throw new Unauthorized((answer as { message?: string }).message ?? 'admin token needed');
  if (!res.ok) throw new Refused(res.status, (answer as { message?: string }).message ?? res.statusText, `${method} ${url}`);
  return answer;
}

export function servicePath(id: string): string {
  const dot = id.lastIndexOf('.');
  return `/api/v1/services/${encodeURIComponent(id.slice(dot + 1))}/${encodeURIComponent(id.slice(0, dot))}`;
}
