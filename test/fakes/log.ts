import pino from 'pino';
import type { Logger } from '../../src/log.js';

/** A logger that keeps its lines (parsed JSON) in memory, for asserting what was logged. */
export function memoryLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}
