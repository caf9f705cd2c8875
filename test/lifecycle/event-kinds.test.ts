import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT, EVENT_KINDS, PHASE_KINDS, isEventKind, reportKind } from '../../src/lifecycle/event-kinds.js';
import { BOOT_PHASES, phaseOf } from '../../src/lifecycle/trace.js';
import { REPORT_PHASES } from '../../src/boot/transitions.js';

const ROOT = join(import.meta.dirname, '../..');

/** Every .ts/.tsx file under a directory of the repository. */
function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (name === 'node_modules' || name === 'dist') continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.tsx?$/.test(name)) out.push(p);
    }
  };
  walk(join(ROOT, dir));
  return out;
}

/** Strings shaped like event kinds that are something else (settings paths, file names, Talos keys). */
const NOT_EVENTS = new Set(['config.access', 'inventory.db', 'inventory.yaml', 'bmc.password', 'machine.install', 'machine.kubelet', 'machine.network', 'machine.sysctls']);
const KIND_SHAPED = /['"`]((?:dhcp|tftp|boot|asset|config|machine|inventory|provision|bmc|rollout|auth|token|report|inspect|security|secureboot)\.[a-z][a-z-]*(?:\.[a-z][a-z-]*)?)['"`]/g;
const FILES = [...sources('src'), ...sources('ui/src'), ...sources('qemu')].filter((f) => !f.endsWith('event-kinds.ts'));

describe('event kind catalogue', () => {
  it('has no duplicates and every fixed kind is subsystem.name', () => {
    expect(new Set(EVENT_KINDS).size).toBe(EVENT_KINDS.length);
    for (const k of Object.values(EVENT)) expect(k).toMatch(/^[a-z]+\.[a-z-]+$/);
    expect(isEventKind('report.ready')).toBe(true);
    expect(isEventKind('rollout.machine.health')).toBe(true);
    expect(isEventKind('report.bogus')).toBe(false);
  });

  it('no source file records or matches a kind that is not catalogued', () => {
    const unknown: string[] = [];
    for (const f of FILES) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(KIND_SHAPED)) {
        const k = m[1] as string;
        if (!isEventKind(k) && !NOT_EVENTS.has(k)) unknown.push(`${relative(ROOT, f)}: ${k}`);
      }
      // Built kinds: only the catalogue's derived families.
      for (const m of text.matchAll(/kind: `([^`$]*)\$\{/g)) {
        if (!['report.', 'rollout.', 'rollout.machine.'].includes(m[1] as string)) unknown.push(`${relative(ROOT, f)}: ${m[1]}\${…}`);
      }
      // SQL prefix matches name a family that exists.
      for (const m of text.matchAll(/kind LIKE '([^'%]+)%'/g)) {
        if (!EVENT_KINDS.some((k) => k.startsWith(m[1] as string))) unknown.push(`${relative(ROOT, f)}: LIKE ${m[1]}%`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it("the console timeline's phase patterns each match catalogued kinds", () => {
    const text = readFileSync(join(ROOT, 'ui/src/phases.ts'), 'utf8');
    const patterns = [...text.matchAll(/kinds: \/(.+?)\/ \}/g)].map((m) => new RegExp(m[1] as string));
    expect(patterns.length).toBeGreaterThan(3);
    for (const re of patterns) expect(EVENT_KINDS.filter((k) => re.test(k)), String(re)).not.toEqual([]);
  });

  it('the trace phases are reached only through their catalogued kinds', () => {
    const phaseKinds = Object.entries(PHASE_KINDS);
    expect(phaseKinds.map(([p]) => p).sort()).toEqual(BOOT_PHASES.filter((p) => p in PHASE_KINDS).sort());
    const details = [{ arch: 7, bootFile: 'ipxe.efi' }, { arch: 7, bootFile: 'http://x/boot.ipxe' }, { file: 'ipxe.efi' }, { mode: 'network' }, { kind: 'kernel' }, { kind: 'initrd' }, {}];
    for (const kind of EVENT_KINDS) {
      for (const detail of details) {
        const p = phaseOf({ kind, detail });
        if (p === null) continue;
        expect(PHASE_KINDS[p as keyof typeof PHASE_KINDS] as readonly string[], `${kind} → ${p}`).toContain(kind);
      }
    }
    expect(REPORT_PHASES.map(reportKind).every(isEventKind)).toBe(true);
  });
});
