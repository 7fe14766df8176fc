import { describe, it, mock, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { watchHealth, SILENT_INTERVALS_TO_EJECT } from './health.ts';
import { fakeTunnel } from './test-support.ts';
import { createLogger } from '../../lib/log.ts';

const INTERVAL_MS = 500;
const TICK_MS = INTERVAL_MS / 4;

/** Runs the health watch on a fake tunnel under mocked timers; `each` runs before every tick. */
function watch(each: (session: ReturnType<typeof fakeTunnel>['session']) => void, ticks: number) {
  mock.timers.enable({ apis: ['setInterval', 'Date'] });
  const { tunnel, session } = fakeTunnel('con', 'grp');
  const ejections: string[] = [];
  const stop = watchHealth(tunnel, {
    intervalMs: INTERVAL_MS,
    statusIntervalMs: 60_000,
    logger: createLogger('test', 'silent'),
    onEject: (reason) => ejections.push(reason),
    onRestore: () => {},
  });
  for (let i = 0; i < ticks; i++) {
    each(session);
    mock.timers.tick(TICK_MS);
  }
  stop();
  return { tunnel, ejections };
}

describe('tunnel health', () => {
  afterEach(() => mock.timers.reset());
  const pastEjection = ((SILENT_INTERVALS_TO_EJECT + 1) * INTERVAL_MS) / TICK_MS;

  it('ejects a tunnel that answers no PING and sends nothing', () => {
    const { tunnel, ejections } = watch(() => {}, pastEjection);
    assert.deepEqual(ejections, ['ping']);
    assert.equal(tunnel.ejected, true);
  });

  it('keeps a tunnel whose PING answers queue behind data it is still sending', () => {
    const { tunnel, ejections } = watch((session) => {
      session.socket.bytesRead += 64 * 1024;
    }, pastEjection);
    assert.deepEqual(ejections, []);
    assert.equal(tunnel.ejected, false);
  });

  it('keeps a quiet tunnel that answers its PINGs', () => {
    const { ejections } = watch((session) => session.answerPings(), pastEjection);
    assert.deepEqual(ejections, []);
  });
});
