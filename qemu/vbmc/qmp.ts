import { createConnection } from 'node:net';

/**
 * Runs one QMP command on a QEMU monitor socket (capabilities handshake first). A QEMU that was
 * just started (power on, cycle) has its process before its monitor listens: a refused or missing
 * socket is retried until the deadline.
 */
export async function qmpCommand(socket: string, execute: string, timeoutMs = 5000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await qmpOnce(socket, execute, Math.max(500, deadline - Date.now()));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'ECONNREFUSED' && code !== 'ENOENT') || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function qmpOnce(socket: string, execute: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`QMP ${execute} timed out`));
    }, timeoutMs);
    let buf = '';
    let step = 0;
    c.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        if ('QMP' in msg && step === 0) {
          step = 1;
          c.write('{"execute":"qmp_capabilities"}\n');
        } else if (('return' in msg || 'error' in msg) && step === 1) {
          step = 2;
          c.write(`${JSON.stringify({ execute })}\n`);
        } else if (('return' in msg || 'error' in msg) && step === 2) {
          clearTimeout(timer);
          c.end();
          if ('error' in msg) reject(new Error(`QMP ${execute}: ${JSON.stringify(msg.error)}`));
          else resolve(msg.return);
        }
      }
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
