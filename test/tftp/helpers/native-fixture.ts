import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealClient } from './udp.js';

/**
 * What the native data-path tests share: files written into one temp directory and real
 * loopback clients, all closed by `close()` (call it from afterAll).
 */
export function nativeFixture(prefix: string): { file: (content: Buffer) => string; client: () => Promise<RealClient>; close: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const clients: RealClient[] = [];
  let n = 0;
  return {
    file: (content) => {
      const path = join(dir, `f${++n}`);
      writeFileSync(path, content);
      return path;
    },
    client: async () => {
      const c = await RealClient.open();
      clients.push(c);
      return c;
    },
    close: () => {
      for (const c of clients.splice(0)) c.close();
    },
  };
}
