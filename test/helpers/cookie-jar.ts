/** A browser's cookies, by host (ports do not separate cookies, as in browsers). */
export class Jar {
  readonly #byHost = new Map<string, Map<string, string>>();
  header(url: string): string {
    return [...(this.#byHost.get(new URL(url).hostname) ?? new Map<string, string>())]
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  }
  take(url: string, setCookie: string | string[] | undefined): void {
    const host = new URL(url).hostname;
    let jar = this.#byHost.get(host);
    if (!jar) this.#byHost.set(host, (jar = new Map()));
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
  }
}
