// The side panel of one service: config bytes scoped vs full per proxy and
// their ACK/NACK state, each scope entry with why it is there (traffic: who
// reported it, last seen, gateway or direct, TTL; pin; rule), calls both ways,
// and pins and rules editable in place. Refreshed live while open.
import type { ScopeEntryView, ScopeReasonView } from '../../core/views.ts';
import { getJson, Refused, servicePath, setAdminToken, Unauthorized, write } from './api.ts';
import { parseSelector, ruleId } from './rules.ts';

interface ApiEdge {
  source: string;
  target: string;
  count: number;
  errors: number;
  lastSeen: string;
  protocols?: string[];
  active: boolean;
  lastViaGateway?: string;
  lastDirect?: string;
  reporters?: string[];
  p99Ms?: number;
}

interface Detail {
  id: string;
  name: string;
  namespace: string;
  workloads: string[];
  scope: string[];
  pins: Array<{ dest: string; note?: string; createdAt?: string }>;
  rules: Array<{ id: string; source: string; namespace?: string; selector?: Record<string, string>; note?: string }>;
  /** Each scope entry with every reason it is there, decided by the analyzer. */
  why: ScopeEntryView[];
  out: ApiEdge[];
  in: ApiEdge[];
  proxies: Array<{ workload: string; clusters: number; bytesScoped: number; bytesFull: number; xds?: Array<{ nodeId: string; state: string; nack?: string }> }>;
}

export interface PanelHooks {
  /** Live rates and TTLs of an edge from the graph model (the API has counts only). */
  edgeInfo(key: string): { rps: number; errPct: number; expiresAt: number } | undefined;
  now(): number;
  close(): void;
  focus(id: string): void;
  locate(id: string): void;
  /** Service ids for the pin autocomplete. */
  services(): string[];
}

const h = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${Math.max(0, s)}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

type Route = Extract<ScopeReasonView, { kind: 'edge' }>['route'];
const ROUTE_TEXT: Record<Route, string> = { gateway: 'via gateway', direct: 'direct', unknown: 'route unknown (learnt before the store kept routes)' };

/** How the latest call of an edge went, by the latest sighting of each way. */
function route(e: ApiEdge): Route {
  if (!e.lastViaGateway && !e.lastDirect) return 'unknown';
  if (e.lastViaGateway && (!e.lastDirect || e.lastViaGateway > e.lastDirect)) return 'gateway';
  return 'direct';
}

type Rule = Detail['rules'][number];

function ruleWhat(r: Pick<Rule, 'namespace' | 'selector'>): string {
  if (r.namespace) return `namespace ${h(r.namespace)}`;
  return `labels ${h(Object.entries(r.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(', '))}`;
}

function appliesTo(source: string, d: Detail): string {
  if (source === '*') return 'every service';
  if (source.startsWith('*.')) return `every service in ${source.slice(2)}`;
  return source === d.id ? 'this service' : source;
}

export class Panel {
  readonly el: HTMLElement;
  private body: HTMLElement;
  service = '';
  private detail?: Detail;
  private loading?: AbortController;
  private timer?: number;
  /** The last write's error, shown under the form that made it. */
  private message: { text: string; at: 'pin' | 'rule' | 'top' } | undefined;
  private shown = '';
  /** "last seen 5s ago" ages: redrawn at least this often even when nothing changed. */
  private renderedAt = 0;
  private askToken?: () => Promise<void>;

  constructor(root: HTMLElement, private readonly hooks: PanelHooks) {
    this.el = root;
    this.el.innerHTML = `<div class="panel-body"></div>`;
    this.body = this.el.querySelector('.panel-body')!;
    this.el.addEventListener('click', (ev) => void this.onClick(ev));
    this.el.addEventListener('keydown', (ev) => {
      const t = ev.target as HTMLElement;
      if (ev.key === 'Enter' && t.matches('[data-pin-input]')) void this.addPin();
      if (ev.key === 'Enter' && t.matches('[data-rule-input]')) void this.addRule();
      if (ev.key === 'Enter' && t.matches('#admin-token')) this.el.querySelector<HTMLButtonElement>('[data-action="token"]')?.click();
    });
  }

  open(id: string): void {
    if (this.service !== id) {
      this.detail = undefined;
      this.message = undefined;
      this.body.innerHTML = `<p class="muted">loading ${h(id)}…</p>`;
    }
    this.service = id;
    this.el.dataset.service = '';
    this.el.hidden = false;
    void this.refresh();
    clearInterval(this.timer);
    // Live while open: counts and ACK state move without graph events.
    this.timer = window.setInterval(() => void this.refresh(), 5000);
  }

  close(): void {
    clearInterval(this.timer);
    this.loading?.abort();
    this.service = '';
    this.el.hidden = true;
    delete this.el.dataset.service;
  }

  async refresh(): Promise<void> {
    const id = this.service;
    if (!id) return;
    this.loading?.abort();
    const ctl = (this.loading = new AbortController());
    try {
      const d = await getJson<Detail>(servicePath(id), ctl.signal);
      if (ctl.signal.aborted || this.service !== id) return;
      // Unchanged: the DOM stays as it is (a button being clicked is not replaced under the pointer).
      const text = JSON.stringify(d);
      if (text === this.shown && this.el.dataset.service === id && Date.now() - this.renderedAt < 30_000) return;
      this.shown = text;
      this.renderedAt = Date.now();
      this.detail = d;
      this.render();
    } catch (err) {
      if (ctl.signal.aborted) return;
      this.body.innerHTML = `<p class="error">${h((err as Error).message)}</p>`;
      this.el.dataset.service = id;
    }
  }

  private render(): void {
    const d = this.detail!;
    const now = this.hooks.now();
    // Keep what is being typed across live refreshes.
    const typed = Object.fromEntries([...this.el.querySelectorAll<HTMLInputElement>('[data-keep]')].map((i) => [i.dataset.keep!, i.value]));
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.keep;
    const reasons = new Map(d.why.map((w) => [w.dest, w.reasons]));
    const why = (dest: string): string =>
      (reasons.get(dest) ?? [])
        .map((r) => {
          if (r.kind === 'edge') {
            return `<span class="reason" data-reason="edge">traffic (${h(r.reporters.join(', ') || 'log')}) · last seen ${ago(now - Date.parse(r.lastSeen))} ago · ${ROUTE_TEXT[r.route]} · expires in ${ago(Date.parse(r.expiresAt) - now)}</span>`;
          }
          if (r.kind === 'pin') return `<span class="reason" data-reason="pin">pinned ${ago(now - Date.parse(r.createdAt))} ago${r.note ? `: ${h(r.note)}` : ''}</span>`;
          return `<span class="reason" data-reason="rule" data-rule="${h(r.rule)}">rule <b>${h(r.rule)}</b> (${ruleWhat(r)}; ${h(appliesTo(r.source, d))})</span>`;
        })
        .join(' · ');
    const error = (at: 'pin' | 'rule' | 'top') => (this.message?.at === at ? `<p class="error" data-message="${at}">${h(this.message.text)}</p>` : '');
    const edgeRow = (e: ApiEdge, other: string, key: string) => {
      const live = this.hooks.edgeInfo(key);
      const err = live ? live.errPct : e.count ? (100 * e.errors) / e.count : 0;
      const cls = !e.active ? 'expired' : err >= 5 ? 'bad' : err >= 1 ? 'warn' : '';
      return `<tr class="${cls}" data-other="${h(other)}"><td><a href="#" data-locate="${h(other)}">${h(other)}</a></td><td>${e.count}</td><td>${live ? live.rps.toFixed(2) : '–'}</td><td>${err.toFixed(1)}%</td><td>${e.active ? ROUTE_TEXT[route(e)] : 'expired'}</td><td>${live?.expiresAt ? ago(live.expiresAt - now) : '–'}</td></tr>`;
    };
    const table = (name: string, title: string, rows: string[]) =>
      `<h3>${title} <span class="muted">${rows.length}</span></h3>${rows.length ? `<table data-edges="${name}"><tr><th>service</th><th>calls</th><th>rps</th><th>err</th><th>route</th><th>TTL</th></tr>${rows.join('')}</table>` : '<p class="muted">none</p>'}`;
    this.body.innerHTML = `
      <header>
        <div><div class="title">${h(d.name)}</div><div class="muted">${h(d.namespace)} · ${d.workloads.length} workload${d.workloads.length === 1 ? '' : 's'}</div></div>
        <button data-action="close" title="close (Esc)">✕</button>
      </header>
      <div class="actions"><button data-action="focus">Focus neighbourhood</button><button data-action="locate">Locate</button></div>
      ${error('top')}
      <h3>Config per proxy</h3>
      ${d.proxies.length ? d.proxies.map((p) => {
        const share = p.bytesFull ? Math.round((100 * p.bytesScoped) / p.bytesFull) : 100;
        const xds = (p.xds ?? []).map((x) => `<span class="ack ${x.state.toLowerCase()}" title="${h(x.nack ?? x.nodeId)}">${x.state}</span>`).join(' ') || '<span class="muted">not connected</span>';
        return `<div class="proxy" data-workload="${h(p.workload)}"><div>${h(p.workload)}: ${p.clusters} clusters, ${bytes(p.bytesScoped)} scoped / ${bytes(p.bytesFull)} full</div><div class="bar"><i style="width:${share}%"></i></div><div>xDS ${xds}</div></div>`;
      }).join('') : '<p class="muted">no workloads</p>'}
      <h3>Scope <span class="muted">${d.scope.length}</span></h3>
      <ul data-list="scope">${d.scope.map((s) => `<li data-dest="${h(s)}"><a href="#" data-locate="${h(s)}">${h(s)}</a><div class="why">${why(s)}</div></li>`).join('') || '<li class="muted">empty: every call goes through the gateway</li>'}</ul>
      ${table('calls', 'Calls', d.out.map((e) => edgeRow(e, e.target, `${d.id}>${e.target}`)))}
      ${table('callers', 'Callers', d.in.map((e) => edgeRow(e, e.source, `${e.source}>${d.id}`)))}
      <h3>Pins</h3>
      <ul data-list="pins">${d.pins.map((p) => `<li>${h(p.dest)}${p.note ? ` <span class="muted">${h(p.note)}</span>` : ''} <button data-unpin="${h(p.dest)}" title="remove pin">✕</button></li>`).join('')}</ul>
      <div class="row"><input data-pin-input data-keep="pin" list="pin-services" placeholder="NAME.NAMESPACE to pin"><button data-action="pin">Pin</button></div>
      ${error('pin')}
      <h3>Rules <span class="muted">${d.rules.length}</span></h3>
      <ul data-list="rules">${d.rules.map((r) => `<li data-rule="${h(r.id)}"><b>${h(r.id)}</b>: ${ruleWhat(r)} <span class="muted">· ${h(appliesTo(r.source, d))}</span>${r.note ? ` <span class="muted">· ${h(r.note)}</span>` : ''} <button data-rule-remove="${h(r.id)}" title="${r.source === d.id ? 'remove rule' : `remove rule (for ${h(appliesTo(r.source, d))})`}">✕</button></li>`).join('') || '<li class="muted">none</li>'}</ul>
      <div class="rule-form">
        <div class="row">
          <select data-rule-kind data-keep="rule-kind" title="what the rule adds to the scope"><option value="namespace">namespace</option><option value="selector">label selector</option></select>
          <input data-rule-input data-keep="rule" placeholder="NAMESPACE, or LABEL=VALUE,…" title="namespace: every service of it; label selector: every service with a workload carrying all these labels, e.g. app=payments,tier=db">
        </div>
        <div class="row">
          <select data-rule-source data-keep="rule-source" title="whose scope it widens"><option value="${h(d.id)}">for ${h(d.name)}</option><option value="*.${h(d.namespace)}">for every service in ${h(d.namespace)}</option><option value="*">for every service</option></select>
        </div>
        <div class="row">
          <input data-rule-note data-keep="rule-note" placeholder="note (optional)">
          <button data-action="rule">Add rule</button>
        </div>
      </div>
      ${error('rule')}
      <div class="token" ${this.askToken ? '' : 'hidden'}><label>Admin token <input id="admin-token" data-keep="token" type="password" autocomplete="off"></label><button data-action="token">Save</button><div class="muted">kept in this tab only</div></div>
      <datalist id="pin-services"></datalist>`;
    for (const i of this.el.querySelectorAll<HTMLInputElement>('[data-keep]')) {
      if (typed[i.dataset.keep!]) i.value = typed[i.dataset.keep!];
      if (focused === i.dataset.keep) i.focus();
    }
    this.el.dataset.service = d.id;
  }

  private async onClick(ev: MouseEvent): Promise<void> {
    const t = ev.target as HTMLElement;
    const locate = t.closest<HTMLElement>('[data-locate]');
    if (locate) {
      ev.preventDefault();
      this.hooks.locate(locate.dataset.locate!);
      return;
    }
    const action = t.closest<HTMLElement>('[data-action]')?.dataset.action;
    if (action === 'close') this.hooks.close();
    else if (action === 'focus') this.hooks.focus(this.service);
    else if (action === 'locate') this.hooks.locate(this.service);
    else if (action === 'pin') await this.addPin();
    else if (action === 'rule') await this.addRule();
    else if (action === 'token') {
      const input = this.el.querySelector<HTMLInputElement>('#admin-token')!;
      setAdminToken(input.value);
      input.value = '';
      const retry = this.askToken;
      this.askToken = undefined;
      await retry?.();
    } else if (t.dataset.unpin) {
      const d = this.detail!;
      await this.guarded('pin', () => write('PUT', `${servicePath(d.id)}/pins`, { services: d.pins.map((p) => p.dest).filter((x) => x !== t.dataset.unpin) }));
    } else if (t.dataset.ruleRemove) {
      await this.guarded('rule', () => write('DELETE', `/api/v1/rules/${encodeURIComponent(t.dataset.ruleRemove!)}`));
    }
  }

  private async addPin(): Promise<void> {
    const input = this.el.querySelector<HTMLInputElement>('[data-pin-input]')!;
    const dest = input.value.trim();
    if (!dest || !this.detail) return;
    const services = [...new Set([...this.detail.pins.map((p) => p.dest), dest])];
    await this.guarded('pin', () => write('PUT', `${servicePath(this.detail!.id)}/pins`, { services }), ['[data-pin-input]']);
  }

  /**
   * Adds a rule by id (PUT /api/v1/rules/:id). A selector's label syntax is
   * checked here first, by the API's own rules; the API checks the rest, and
   * either message is shown under the form.
   */
  private async addRule(): Promise<void> {
    const q = <T extends HTMLElement>(sel: string) => this.el.querySelector<T>(sel)!;
    const input = q<HTMLInputElement>('[data-rule-input]');
    const note = q<HTMLInputElement>('[data-rule-note]');
    const text = input.value.trim();
    if (!text || !this.detail) return;
    const kind = q<HTMLSelectElement>('[data-rule-kind]').value as 'namespace' | 'selector';
    const source = q<HTMLSelectElement>('[data-rule-source]').value;
    let rule: { source: string; namespace?: string; selector?: Record<string, string>; note?: string };
    try {
      rule = kind === 'namespace' ? { source, namespace: text } : { source, selector: parseSelector(text) };
    } catch (err) {
      this.message = { text: (err as Error).message, at: 'rule' };
      this.render();
      return;
    }
    if (note.value.trim()) rule.note = note.value.trim();
    const id = ruleId(source, kind, text);
    await this.guarded('rule', () => write('PUT', `/api/v1/rules/${encodeURIComponent(id)}`, rule), ['[data-rule-input]', '[data-rule-note]']);
  }

  /**
   * Runs a write; on 401 shows the token field and retries once it is saved. On
   * success the inputs named by `clear` are emptied: looked up then, as the panel
   * may have been redrawn since (the token prompt redraws it).
   */
  private async guarded(at: 'pin' | 'rule' | 'top', fn: () => Promise<unknown>, clear: string[] = []): Promise<void> {
    try {
      await fn();
      this.message = undefined;
      for (const sel of clear) for (const i of this.el.querySelectorAll<HTMLInputElement>(sel)) i.value = '';
      await this.refresh();
    } catch (err) {
      if (err instanceof Unauthorized) {
        this.message = { text: `${err.message}: enter the admin token`, at: 'top' };
        this.askToken = () => this.guarded(at, fn, clear);
      } else this.message = { text: err instanceof Refused ? `Not saved: ${err.answer}` : (err as Error).message, at };
      this.render();
      if (this.askToken) this.el.querySelector<HTMLInputElement>('#admin-token')?.focus();
    }
  }

  fillServices(): void {
    const list = this.el.querySelector('#pin-services');
    if (list && !list.childElementCount) list.innerHTML = this.hooks.services().slice(0, 2000).map((s) => `<option value="${h(s)}">`).join('');
  }
}
