import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** Shared by the completion-report tests: a stand-in report listener and a sandbox for the rendered programs. */

/** A report token as a rackboot network boot carries it. */
export const TOKEN = 'A'.repeat(43);

/** A stand-in for rackboot's boot listener: records each POST and answers with the queued statuses (then 200). */
export class ReportSink {
  posts: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];
  statuses: number[] = [];
  private server: Server | undefined;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        this.posts.push({ url: req.url ?? '', headers: req.headers, body });
        res.writeHead(this.statuses.shift() ?? 200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/api/v1/report`;
  }
  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

/**
 * Runs a rendered program in a private mount namespace where /proc/cmdline is a rackboot network
 * boot's command line and `mounts` (dir → files) replace what the OS would have written.
 */
export function runInNamespace(dir: string, cmd: string, opts: { cmdline: string; mounts?: Record<string, Record<string, string>>; path?: string }): Promise<{ code: number; output: string }> {
  writeFileSync(join(dir, 'cmdline'), `${opts.cmdline}\n`);
  const lines = [`mount --bind ${join(dir, 'cmdline')} /proc/cmdline`];
  for (const [target, files] of Object.entries(opts.mounts ?? {})) {
    const src = mkdtempSync(join(dir, 'mount-'));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(src, name, '..'), { recursive: true });
      writeFileSync(join(src, name), text);
    }
    lines.push(`mount --bind ${src} ${target}`);
  }
  lines.push(`exec ${cmd}`);
  return new Promise((resolve) => {
    const p = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-ec', lines.join('\n')], {
      env: { ...process.env, PATH: `${opts.path ? `${opts.path}:` : ''}${process.env.PATH}` },
    });
    let output = '';
    p.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    p.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

export const dataUrlText = (source: string) => decodeURIComponent(source.slice('data:,'.length));
