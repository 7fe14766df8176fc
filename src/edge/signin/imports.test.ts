/** The sign-in modules import each other without a cycle (type-only imports included): methods use the shared steps, never the router. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));

function graph(): Map<string, string[]> {
  const modules = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const edges = new Map<string, string[]>();
  for (const file of modules) {
    const text = readFileSync(`${dir}/${file}`, 'utf8');
    const local = [...text.matchAll(/^(?:import|export)\b[^;]*?from '\.\/([\w.-]+\.ts)';/gms)].map((m) => m[1]);
    edges.set(
      file,
      local.filter((f) => modules.includes(f)),
    );
  }
  return edges;
}

function findCycle(edges: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

describe('sign-in module imports', () => {
  it('have no cycle', () => {
    const edges = graph();
    assert.ok(edges.get('index.ts')?.includes('login-host.ts'), 'the import scan sees the router');
    assert.equal(findCycle(edges)?.join(' → ') ?? null, null);
  });
});
