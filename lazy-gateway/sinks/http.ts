// Delivers access-log records to an analyzer over HTTP: POST {URL}/api/v1/access-logs, NDJSON.
import { Pool } from 'undici';
import type { AccessLogRecord, AccessLogSink } from '../../contracts/access-log.ts';

export class HttpSink implements AccessLogSink {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(readonly url: string, timeoutMs = 10_000) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`--analyzer ${url}: not a URL; give the analyzer's base URL such as http://analyzer:8080`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`--analyzer ${url}: expected an http:// or https:// URL`);
    }
    this.path = `${parsed.pathname.replace(/\/+$/, '')}/api/v1/access-logs`;
    this.pool = new Pool(parsed.origin, { connections: 2, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  }

  async send(records: readonly AccessLogRecord[]): Promise<void> {
    let body = '';
    for (const r of records) body += `${JSON.stringify(r)}\n`;
    const res = await this.pool.request({
      method: 'POST',
      path: this.path,
      headers: { 'content-type': 'application/x-ndjson' },
      body,
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw new Error(`${this.url}${this.path} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
