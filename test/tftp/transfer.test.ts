import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OPCODE, TFTP_ERROR, decodeTftpPacket, encodeAck, encodeError, encodeOack } from '../../src/tftp/packet.js';
import { ChunkedSource, asChunks, netasciiChunks } from '../../src/tftp/source.js';
import { Transfer, type TransferConfig } from '../../src/tftp/transfer.js';
import { FakeClock, settle } from './helpers/fake-clock.js';

const base: TransferConfig = { blksize: 512, windowsize: 1, timeoutMs: 1000, maxTimeoutMs: 8000, retries: 5 };

async function setup(content: Buffer, cfg: Partial<TransferConfig> = {}) {
  const clock = new FakeClock();
  const c = { ...base, ...cfg };
  const source = new ChunkedSource(asChunks(content), c.blksize, 1 << 20);
  await settle();
  const sent: Buffer[] = [];
  const t = new Transfer(source, c, (p) => sent.push(p), clock);
  /** Block numbers of DATA packets sent since the last call. */
  const take = () => sent.splice(0).map((p) => (p.readUInt16BE(0) === OPCODE.DATA ? p.readUInt16BE(2) : -p.readUInt16BE(0)));
  return { clock, t, sent, take };
}

describe('Transfer state machine', () => {
  it('rolls block numbers over 65535 → 0 and delivers every byte (blksize 8)', async () => {
    const content = randomBytes(65536 * 8 + 3);
    const { t, sent } = await setup(content, { blksize: 8 });
    t.start();
    const got: Buffer[] = [];
    const wires: number[] = [];
    // Lock-step without recursion: ACK each DATA from a queue.
    for (let i = 0; i < 70_000 && sent.length > 0; i++) {
      const p = decodeTftpPacket(sent.shift()!);
      if (p.op !== 'data') throw new Error(`unexpected ${p.op}`);
      got.push(Buffer.from(p.data));
      if (wires.length < 3 || p.block <= 1) wires.push(p.block);
      t.receive(encodeAck(p.block));
    }
    const r = await t.done;
    expect(Buffer.concat(got).equals(content)).toBe(true);
    expect(r).toMatchObject({ result: 'sent', bytes: content.length, blocks: 65537, retransmits: 0 });
    expect(wires).toEqual([1, 2, 3, 0, 1]);
  });

  it('ignores duplicate and late ACKs: no Sorcerer’s Apprentice resend', async () => {
    const { t, take } = await setup(randomBytes(512 * 4 + 1));
    t.start();
    expect(take()).toEqual([1]);
    t.receive(encodeAck(1));
    expect(take()).toEqual([2]);
    t.receive(encodeAck(1)); // duplicate of an old ACK
    t.receive(encodeAck(1));
    t.receive(encodeAck(0)); // older still
    t.receive(encodeAck(3)); // not sent yet: bogus
    expect(take()).toEqual([]);
    t.receive(encodeAck(2));
    expect(take()).toEqual([3]);
  });

  it('retransmits on timeout with doubling backoff up to the cap, then gives up', async () => {
    const { t, clock, take } = await setup(randomBytes(100), { retries: 5 });
    t.start();
    expect(take()).toEqual([1]);
    const at: number[] = [];
    while (clock.runNext()) {
      if (take().length) at.push(clock.now());
    }
    expect(at).toEqual([1000, 3000, 7000, 15000, 23000]);
    expect(await t.done).toMatchObject({ result: 'timeout', retransmits: 5, bytes: 0 });
  });

  it('resets the backoff after progress', async () => {
    const { t, clock, take } = await setup(randomBytes(1000));
    t.start();
    take();
    clock.runNext(); // 1000: resend 1
    clock.runNext(); // 3000: resend 1
    expect(take()).toEqual([1, 1]);
    t.receive(encodeAck(1));
    expect(take()).toEqual([2]);
    clock.runNext();
    expect(clock.now()).toBe(4000);
    expect(take()).toEqual([2]);
  });

  it('sends windows (RFC 7440) and restarts after the last in-order block on a gap ACK', async () => {
    const { t, take } = await setup(randomBytes(512 * 10 + 5), { windowsize: 4 });
    t.start();
    expect(take()).toEqual([1, 2, 3, 4]);
    t.receive(encodeAck(4));
    expect(take()).toEqual([5, 6, 7, 8]);
    t.receive(encodeAck(6)); // 7 was lost
    expect(take()).toEqual([7, 8, 9, 10]);
    t.receive(encodeAck(6)); // the same gap reported again: already handled
    expect(take()).toEqual([]);
    t.receive(encodeAck(10));
    expect(take()).toEqual([11]);
    t.receive(encodeAck(11));
    expect(await t.done).toMatchObject({ result: 'sent', bytes: 512 * 10 + 5, blocks: 11 });
  });

  it('ends with an empty block when the size is a multiple of blksize', async () => {
    const { t, sent } = await setup(randomBytes(1024), { windowsize: 8 });
    t.start();
    expect(sent.map((p) => p.length)).toEqual([516, 516, 4]);
    t.receive(encodeAck(3));
    expect(await t.done).toMatchObject({ result: 'sent', bytes: 1024, blocks: 3 });
  });

  it('sends the OACK first and starts at ACK 0; retransmits the OACK on timeout', async () => {
    const oack = encodeOack({ tsize: '600' });
    const { t, clock, take } = await setup(randomBytes(600), { oack });
    t.start();
    expect(take()).toEqual([-OPCODE.OACK]);
    clock.runNext();
    expect(take()).toEqual([-OPCODE.OACK]);
    t.receive(encodeAck(1)); // not an answer to an OACK
    expect(take()).toEqual([]);
    t.receive(encodeAck(0));
    expect(take()).toEqual([1]);
  });

  it('reports a client that declines the OACK with error 8 (edk2 after its tsize probe)', async () => {
    const { t } = await setup(randomBytes(600), { oack: encodeOack({ tsize: '600' }) });
    t.start();
    t.receive(encodeError(TFTP_ERROR.OPTION_REFUSED, 'User aborted the transfer'));
    expect(await t.done).toMatchObject({ result: 'options-declined', bytes: 0 });
  });

  it('reports a client error mid-transfer', async () => {
    const { t } = await setup(randomBytes(6000));
    t.start();
    t.receive(encodeAck(1));
    t.receive(encodeError(TFTP_ERROR.DISK_FULL, 'disk full'));
    expect(await t.done).toMatchObject({ result: 'client-error', bytes: 512, error: 'client error 3: disk full' });
  });

  it('waits for a slow source and fails with an error packet when it breaks', async () => {
    const clock = new FakeClock();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    async function* slow() {
      yield Buffer.alloc(512, 1);
      await gate;
      throw new Error('render failed');
    }
    const source = new ChunkedSource(slow(), 512, 1024);
    const sent: Buffer[] = [];
    const t = new Transfer(source, base, (p) => sent.push(p), clock);
    await settle();
    t.start();
    expect(sent).toHaveLength(1);
    t.receive(encodeAck(1));
    expect(sent).toHaveLength(1); // block 2 not produced yet
    release();
    const r = await t.done;
    expect(r).toMatchObject({ result: 'source-error', error: 'render failed' });
    expect(decodeTftpPacket(sent.at(-1)!)).toMatchObject({ op: 'error', code: 0 });
  });

  it('ignores garbage on the transfer port', async () => {
    const { t, take } = await setup(randomBytes(700));
    t.start();
    take();
    for (const junk of [Buffer.alloc(0), Buffer.from([0]), Buffer.from([0, 3, 0, 1, 9]), Buffer.from([0, 1, 0x41, 0])]) t.receive(junk);
    expect(take()).toEqual([]);
    t.receive(encodeAck(1));
    t.receive(encodeAck(2));
    expect((await t.done).result).toBe('sent');
  });
});

describe('netascii', () => {
  it('maps LF to CR LF and CR to CR NUL', async () => {
    const out: Buffer[] = [];
    for await (const c of netasciiChunks(asChunks([Buffer.from('a\nb\r'), Buffer.from('c\r\n')]))) out.push(c);
    expect(Buffer.concat(out).toString('latin1')).toBe('a\r\nb\r\0c\r\0\r\n');
  });
});
