/**
 * The last configuration the edge pushed, saved as `config.json` (0600) in the connector's state dir on every push,
 * so that `drawbridge connector diagnose kcd --app A` can find the app's SPN, internal URL and login identity without
 * asking the edge (the connector only learns its apps over the tunnel).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeSecretFile } from '../../pki/files.ts';
import type { Logger } from '../../lib/log.ts';
import type { ConnectorConfig } from '../../tunnel/protocol.ts';
import { AppConfigTable } from '../forward/app-config.ts';

export const LAST_CONFIG_FILE = 'config.json';

export async function readLastConfig(stateDir: string): Promise<ConnectorConfig | null> {
  try {
    return JSON.parse(await readFile(path.join(stateDir, LAST_CONFIG_FILE), 'utf8')) as ConnectorConfig;
  } catch {
    return null;
  }
}

/** An AppConfigTable that also writes each accepted config to the state dir (in order, last one wins). */
export class SavedAppConfigTable extends AppConfigTable {
  readonly #file: string;
  readonly #logger: Logger;
  #writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string, logger: Logger) {
    super();
    this.#file = path.join(stateDir, LAST_CONFIG_FILE);
    this.#logger = logger;
  }

  override apply(config: ConnectorConfig): number {
    const version = super.apply(config);
    if (version === config.version) {
      const text = JSON.stringify(config, null, 2) + '\n';
      this.#writing = this.#writing
        .then(() => writeSecretFile(this.#file, text))
        .catch((err: Error) => {
          this.#logger.warn({ file: this.#file, err: err.message }, 'could not save the pushed config');
        });
    }
    return version;
  }

  /** Resolves once every accepted config is on disk (tests, drain). */
  flushed(): Promise<void> {
    return this.#writing;
  }
}
