import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 binaries (package postgresql, scripts/deps/test-postgres.txt). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A throw-away PostgreSQL cluster a test started (one per test file). */
export interface TestPostgres {
  /** postgres://rackboot:PASSWORD@HOST:PORT/postgres (the superuser, SCRAM over TCP). */
  url: string;
  host: string;
  port: number;
  /** The superuser's password (tests of redaction look for it in logs and errors). */
  password: string;
  /** The temp dir: data/, the socket and postgres.log. */
  dir: string;
  /** Creates an empty database (name: letters, digits, _; default a random one) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server at once (pg_ctl stop -m immediate, like a crash); the data stays for start(). */
  kill(): Promise<void>;
  /** Starts a killed server again on the same address and port. */
  start(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
  /** Stops the server and removes the temp dir (afterAll). */
  stop(): Promise<void>;
}

/** Options of startPostgres. */
export interface StartPostgresOptions {
  /** Run inside this network namespace (created and addressed by the caller). */
  netns?: string;
  /** Listen address: 127.0.0.1 by default; in a namespace, one of its 198.18.x addresses. */
  host?: string;
  /** Default: a free port on 127.0.0.1, or 5432 in a namespace. */
  port?: number;
}

/**
 * Starts a PostgreSQL 15 cluster in a fresh temp dir: initdb + pg_ctl as the `postgres` system
 * user (initdb refuses root), superuser `rackboot` with a random password (scram-sha-256 over TCP,
 * trust on the cluster's own Unix socket), fsync off (test data only: the page cache keeps it across
 * kill(), as commits still reach the WAL before they return). Nothing else on the host
 * is touched: the packaged cluster is never used. If the test process exits without stop(), the
 * server is killed by PID and its dir removed on exit.
 */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<TestPostgres> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (opts.netns ? 5432 : await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'rb-pg-'));
  const { uid, gid } = postgresUser();
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  chownSync(pwfile, uid, gid);
  const asPostgres = (cmd: string, args: string[], timeout = 60_000) => {
    const argv = ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args];
    return opts.netns ? run('ip', ['netns', 'exec', opts.netns, 'runuser', ...argv], { timeout }) : run('runuser', argv, { timeout });
  };
  try {
    await asPostgres('initdb', ['-D', data, '-U', 'rackboot', `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '--locale=C', '-E', 'UTF8', '--no-sync']);
  } finally {
    rmSync(pwfile, { force: true });
  }
  appendFileSync(
    join(data, 'postgresql.conf'),
    [
      '',
      `listen_addresses = '${host}'`,
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      'fsync = off',
      'full_page_writes = off',
      'shared_buffers = 32MB',
      'max_connections = 60',
      '',
    ].join('\n'),
  );
  // Appliances in test namespaces connect from their own 198.18.0.0/15 addresses.
  if (host !== '127.0.0.1') appendFileSync(join(data, 'pg_hba.conf'), 'host all all 198.18.0.0/15 scram-sha-256\n');
  let pid: number | undefined;
  const onExit = () => {
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGQUIT'); // immediate shutdown
      } catch {}
    }
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {}
  };
  process.once('exit', onExit);
  const start = async () => {
    await asPostgres('pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '60']).catch((e: Error) => {
      throw new Error(`pg_ctl start failed: ${e.message}\n${tail(logFile)}`);
    });
    pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  };
  const kill = async () => {
    if (pid === undefined) return;
    await asPostgres('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '30']).catch(() => {
      try {
        process.kill(pid!, 'SIGKILL');
      } catch {}
    });
    pid = undefined;
  };
  await start();
  const url = `postgres://rackboot:${password}@${host}:${port}/postgres`;
  return {
    url,
    host,
    port,
    password,
    dir,
    async createDatabase(name = `t_${randomBytes(6).toString('hex')}`) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name} is not a plain identifier`);
      // Over the Unix socket (trust): it works from the root namespace whatever the listen address.
      await asPostgres('psql', ['-h', dir, '-p', String(port), '-U', 'rackboot', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q', '-c', `CREATE DATABASE ${name}`]);
      return `postgres://rackboot:${password}@${host}:${port}/${name}`;
    },
    kill,
    start,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      await kill();
      process.removeListener('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line || !existsSync(join(PG_BIN, 'initdb'))) throw new Error('PostgreSQL 15 is not installed (scripts/setup.sh test installs Debian postgresql)');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}
