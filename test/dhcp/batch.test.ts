import { describe, expect, it } from 'vitest';
import { type BatchTimers, type GroupedWrite, TurnBatcher } from '../../src/dhcp/batch.js';
import { silentLogger } from '../../src/log.js';

function fakeTimers() {
  let now = 0;
  const queue: Array<{ at: number; fn: () => void }> = [];
  const timers: BatchTimers = {
    now: () => now,
    immediate: (fn) => queue.push({ at: now, fn }),
    later: (fn, ms) => queue.push({ at: now + ms, fn }),
  };
  const runUntil = (t: number) => {
    for (;;) {
      queue.sort((a, b) => a.at - b.at);
      const next = queue[0];
      if (!next || next.at > t) break;
      queue.shift();
      now = next.at;
      next.fn();
    }
    now = t;
  };
  return { timers, runUntil };
}

describe('TurnBatcher', () => {
  it('runs replies only after their writes are committed, one transaction per turn', () => {
    const log: string[] = [];
    const { timers, runUntil } = fakeTimers();
    const b = new TurnBatcher((fn) => {
      log.push('begin');
      fn();
      log.push('commit');
    }, silentLogger(), 0, timers);
    b.add(() => log.push('w1'), () => log.push('send1'));
    b.add(() => log.push('w2'), () => log.push('send2'));
    expect(log).toEqual([]);
    runUntil(0);
    expect(log).toEqual(['begin', 'w1', 'w2', 'commit', 'send1', 'send2']);
    expect(b.stats).toMatchObject({ commits: 1, writes: 2 });
  });

  it('withholds the reply of a failed write and every reply of a failed commit', () => {
    const sent: string[] = [];
    const { timers, runUntil } = fakeTimers();
    let failCommit = false;
    const b = new TurnBatcher((fn) => {
      fn();
      if (failCommit) throw new Error('disk full');
    }, silentLogger(), 0, timers);
    b.add(() => {
      throw new Error('constraint');
    }, () => sent.push('bad'));
    b.add(() => {}, () => sent.push('good'));
    runUntil(0);
    expect(sent).toEqual(['good']);
    failCommit = true;
    b.add(() => {}, () => sent.push('lost'));
    runUntil(1);
    expect(sent).toEqual(['good']);
    expect(b.stats.failedCommits).toBe(1);
  });

  it('with an interval, a turn right after a commit waits, so writes pile into one transaction', () => {
    const { timers, runUntil } = fakeTimers();
    const commits: number[] = [];
    let n = 0;
    const b = new TurnBatcher((fn) => {
      n = 0;
      fn();
      commits.push(n);
    }, silentLogger(), 2, timers);
    b.add(() => n++);
    runUntil(0);
    for (let t = 0.5; t < 2; t += 0.5) {
      runUntil(t);
      b.add(() => n++);
    }
    runUntil(1.9);
    expect(commits).toEqual([1]);
    runUntil(2);
    expect(commits).toEqual([1, 3]);
  });

  it('hands failed commits and writes to its failure sink (no line per turn), and successes after them', () => {
    const { timers, runUntil } = fakeTimers();
    const seen: string[] = [];
    let full = true;
    const b = new TurnBatcher((fn) => {
      fn();
      if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    }, silentLogger(), 0, timers);
    b.failures = { failed: (err, lost) => seen.push(`failed ${(err as { code: string }).code} ${lost}`), succeeded: () => seen.push('ok') };
    b.add(() => {});
    b.add(() => {});
    runUntil(0);
    full = false;
    b.add(() => {
      throw new Error('constraint');
    });
    runUntil(1);
    b.add(() => {});
    runUntil(2);
    expect(seen).toEqual(['failed SQLITE_FULL 2', 'failed undefined 1', 'ok']);
  });

  it("hands each write's result to its reply and runs `failed` for withheld ones", () => {
    const { timers, runUntil } = fakeTimers();
    const got: string[] = [];
    let failCommit = false;
    const b = new TurnBatcher((fn) => {
      fn();
      if (failCommit) throw new Error('store unavailable');
    }, silentLogger(), 0, timers);
    b.add(() => 'won', (r) => got.push(`after ${r}`), () => got.push('failed 1'));
    b.add(() => 'lost', (r) => got.push(`after ${r}`), () => got.push('failed 2'));
    runUntil(0);
    failCommit = true;
    b.add(() => 'x', (r) => got.push(`after ${r}`), () => got.push('failed 3'));
    runUntil(1);
    expect(got).toEqual(['after won', 'after lost', 'failed 3']);
  });

  it('a write that throws rolls the transaction back and the others are written again without it (as PostgreSQL needs)', () => {
    const { timers, runUntil } = fakeTimers();
    const committed: string[][] = [];
    let open: string[] = [];
    const b = new TurnBatcher((fn) => {
      open = [];
      fn(); // a throw skips the commit: the rows written so far are rolled back
      committed.push(open);
    }, silentLogger(), 0, timers);
    const sent: string[] = [];
    b.add(() => open.push('a'), () => sent.push('a'));
    b.add(() => {
      throw new Error('constraint');
    }, () => sent.push('bad'), () => sent.push('bad withheld'));
    b.add(() => open.push('c'), () => sent.push('c'));
    runUntil(0);
    expect(committed).toEqual([['a', 'c']]);
    expect(sent).toEqual(['bad withheld', 'a', 'c']);
  });

  describe('grouped writes (issue #20: a turn\'s lease claims in one statement)', () => {
    /** A transaction log and a group of claims on one address book: `bad` inputs throw. */
    const setUp = (opts: { manyFails?: boolean } = {}) => {
      const { timers, runUntil } = fakeTimers();
      const calls: string[] = [];
      let open: string[] = [];
      const committed: string[][] = [];
      const b = new TurnBatcher((fn) => {
        open = [];
        fn();
        committed.push(open);
      }, silentLogger(), 0, timers);
      const one = (ip: string) => {
        if (ip === 'bad') throw new Error('not null');
        open.push(ip);
        return `${ip} granted`;
      };
      const group: GroupedWrite<string, string> = {
        many: (ips) => {
          calls.push(`many ${ips.join(',')}`);
          if (opts.manyFails || ips.includes('bad')) throw new Error('statement failed');
          return ips.map(one);
        },
        one: (ip) => {
          calls.push(`one ${ip}`);
          return one(ip);
        },
      };
      return { b, group, calls, committed, runUntil, open: () => open };
    };

    it('runs every input of a turn in one call after the plain writes, and hands each its own result', () => {
      const t = setUp();
      const got: string[] = [];
      t.b.addGrouped(t.group, () => {
        t.open().push('discovered m1');
        return 'ip1';
      }, (r) => got.push(`m1 ${r}`));
      t.b.add(() => t.open().push('expire'), () => got.push('expire done'));
      t.b.addGrouped(t.group, () => undefined, (r) => got.push(`m2 ${r}`));
      t.b.addGrouped(t.group, () => 'ip3', (r) => got.push(`m3 ${r}`));
      t.runUntil(0);
      expect(t.calls).toEqual(['many ip1,ip3']);
      expect(t.committed).toEqual([['discovered m1', 'expire', 'ip1', 'ip3']]);
      expect(got).toEqual(['m1 ip1 granted', 'expire done', 'm2 undefined', 'm3 ip3 granted']);
    });

    it('a group that throws is redone one by one, which drops the bad input alone, then grouped again', () => {
      const t = setUp();
      const got: string[] = [];
      for (const ip of ['ip1', 'bad', 'ip3']) t.b.addGrouped(t.group, () => ip, (r) => got.push(`${r}`), () => got.push(`${ip} withheld`));
      t.runUntil(0);
      expect(t.calls).toEqual(['many ip1,bad,ip3', 'one ip1', 'one bad', 'many ip1,ip3']);
      expect(t.committed).toEqual([['ip1', 'ip3']]);
      expect(got).toEqual(['bad withheld', 'ip1 granted', 'ip3 granted']);
      expect(t.b.stats).toMatchObject({ failedWrites: 1, commits: 1, writes: 2 });
    });

    it('a group that fails for no input of its own (a deadlock, say) is written one by one and loses nothing', () => {
      const t = setUp({ manyFails: true });
      const got: string[] = [];
      for (const ip of ['ip1', 'ip2']) t.b.addGrouped(t.group, () => ip, (r) => got.push(`${r}`));
      t.runUntil(0);
      expect(t.calls).toEqual(['many ip1,ip2', 'one ip1', 'one ip2']);
      expect(got).toEqual(['ip1 granted', 'ip2 granted']);
      expect(t.b.stats).toMatchObject({ failedWrites: 0, commits: 1 });
    });

    it('an unreachable store fails the whole batch at once: no redo one by one, no retry per write', () => {
      for (const where of ['group', 'write'] as const) {
        const { timers, runUntil } = fakeTimers();
        let transactions = 0;
        const failures: number[] = [];
        const b = new TurnBatcher((fn) => {
          transactions++;
          fn();
        }, silentLogger(), 0, timers);
        b.failures = { failed: (_err, lost) => failures.push(lost), succeeded: () => {} };
        const down = () => Object.assign(new Error('PostgreSQL unreachable'), { code: 'STORE_UNAVAILABLE' });
        const calls: string[] = [];
        const group: GroupedWrite<string, string> = {
          many: (ips) => {
            calls.push(`many ${ips.join(',')}`);
            throw down();
          },
          one: (ip) => {
            calls.push(`one ${ip}`);
            throw down();
          },
        };
        const got: string[] = [];
        b.add(() => {
          if (where === 'write') throw down();
        }, () => got.push('w sent'), () => got.push('w withheld'));
        for (const ip of ['ip1', 'ip2']) b.addGrouped(group, () => ip, () => got.push(`${ip} sent`), () => got.push(`${ip} withheld`));
        runUntil(0);
        expect(transactions).toBe(1);
        expect(calls).toEqual(where === 'group' ? ['many ip1,ip2'] : []);
        expect(got).toEqual(['w withheld', 'ip1 withheld', 'ip2 withheld']);
        expect(failures).toEqual([3]);
        expect(b.stats).toMatchObject({ failedWrites: 0, failedCommits: 1, commits: 0 });
      }
    });

    it('after close, a grouped write is refused at once', () => {
      const t = setUp();
      t.b.close();
      const got: string[] = [];
      t.b.addGrouped(t.group, () => 'ip1', () => got.push('sent'), () => got.push('withheld'));
      expect(got).toEqual(['withheld']);
    });
  });
});
