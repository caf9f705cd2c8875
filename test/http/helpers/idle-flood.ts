// Child process: opens `count` TCP connections from `source` to server:port (at most 500
// connecting at once, all within `budgetMs`) and sends nothing on them. Then, from `other`,
// asks GET /api/v1/machines with the admin token. Prints one JSON line: connections made, how
// many the server closed, how many are still open, and the API answer's status and latency.
// Keeps the idle sockets until `holdMs`, then exits.
import { request } from 'node:http';
import { type Socket, connect } from 'node:net';

const [server, port, source, other, count, budgetMs, holdMs] = process.argv.slice(2);
const deadline = Date.now() + Number(budgetMs);
const sockets: Socket[] = [];
let connected = 0;
let closed = 0;
let failed = 0;

function open(): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host: server!, port: Number(port), localAddress: source! });
    sockets.push(s);
    s.resume();
    s.once('connect', () => {
      connected++;
      resolve();
    });
    s.once('error', () => {
      failed++;
      resolve();
    });
    s.once('close', () => {
      closed++;
      resolve();
    });
  });
}

let started = 0;
const worker = async () => {
  while (started < Number(count) && Date.now() < deadline) {
    started++;
    await open();
  }
};
await Promise.all(Array.from({ length: 500 }, worker));
// Let the server close what it refuses.
await new Promise((r) => setTimeout(r, 1000));

const t0 = Date.now();
const api = await new Promise<{ status: number; ms: number }>((resolve) => {
  const req = request(
    { host: server, port: Number(port), localAddress: other, path: '/api/v1/machines', headers: { authorization: 'Bearer test-token' }, timeout: 5000 },
    (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0 }));
    },
  );
  req.once('timeout', () => req.destroy(new Error('timeout')));
  req.once('error', () => resolve({ status: 0, ms: Date.now() - t0 }));
  req.end();
});
const open_ = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
process.stdout.write(`${JSON.stringify({ attempted: started, connected, closed, failed, open: open_, api })}\n`);
setTimeout(() => process.exit(0), Number(holdMs));
