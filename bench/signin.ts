/**
 * Signs a demo user in to a pre-authenticated app the way a browser does (app → sign-in host form → one-time code
 * back to the app host) and returns the app host's cookies as one `Cookie` header, for the load clients to send on
 * every request.
 */
import { request } from 'node:https';
import { lookupTo } from './lookup.ts';

interface Answer {
  status: number;
  location: string | null;
  body: string;
}

class CookieClient {
  readonly jars = new Map<string, Map<string, string>>();

  jar(host: string): Map<string, string> {
    let jar = this.jars.get(host);
    if (!jar) this.jars.set(host, (jar = new Map()));
    return jar;
  }

  cookieHeader(host: string): string {
    return [...this.jar(host)].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  request(url: string, form?: Record<string, string>): Promise<Answer> {
    const u = new URL(url);
    const jar = this.jar(u.hostname);
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const headers: Record<string, string> = { host: u.host, accept: 'text/html' };
    if (jar.size) headers.cookie = this.cookieHeader(u.hostname);
    if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
      headers.origin = u.origin;
    }
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: u.hostname,
          port: u.port || 443,
          path: `${u.pathname}${u.search}`,
          method: body ? 'POST' : 'GET',
          headers,
          rejectUnauthorized: false,
          lookup: lookupTo('127.0.0.1'),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            for (const c of res.headers['set-cookie'] ?? []) {
              const [pair, ...attrs] = c.split(';');
              const eq = pair.indexOf('=');
              const name = pair.slice(0, eq).trim();
              if (attrs.some((a) => a.trim().toLowerCase() === 'max-age=0')) jar.delete(name);
              else jar.set(name, pair.slice(eq + 1));
            }
            const location = typeof res.headers.location === 'string' ? new URL(res.headers.location, url).href : null;
            resolve({ status: res.statusCode ?? 0, location, body: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  }

  async follow(url: string, form?: Record<string, string>): Promise<Answer & { url: string }> {
    let res = await this.request(url, form);
    let at = url;
    for (let i = 0; i < 10 && res.location && res.status >= 300 && res.status < 400; i++) {
      at = res.location;
      res = await this.request(at);
    }
    return { ...res, url: at };
  }
}

function formValue(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no "${name}" field in the sign-in page`);
  return m[1]
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

/** Signs in and returns the `Cookie` header value for the app host. Throws with what the edge answered if it fails. */
export async function signInCookie(appUrl: string, username: string, password: string, path = '/'): Promise<string> {
  const client = new CookieClient();
  const app = new URL(appUrl);
  const first = await client.follow(`${app.origin}${path}`);
  if (!first.body.includes('name="password"')) {
    throw new Error(`the app did not lead to a sign-in form (status ${first.status} at ${first.url})`);
  }
  const action = /<form[^>]*action="([^"]*)"/.exec(first.body)?.[1] ?? '/login';
  const done = await client.follow(new URL(action.replace(/&amp;/g, '&'), first.url).href, {
    csrf: formValue(first.body, 'csrf'),
    state: formValue(first.body, 'state'),
    username,
    password,
  });
  const cookie = client.cookieHeader(app.hostname);
  if (done.status !== 200 || new URL(done.url).hostname !== app.hostname || !cookie) {
    throw new Error(`sign-in as ${username} did not end on the app (status ${done.status} at ${done.url})`);
  }
  return cookie;
}
