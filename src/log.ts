import pino, { type Logger } from 'pino';

/** Creates the root logger: pretty output only on a TTY, JSON otherwise; secrets redacted. */
export function createLogger(level = process.env.RACKBOOT_LOG_LEVEL ?? 'info'): Logger {
  const redact = {
    paths: [
      'secret', 'password', '*.secret', '*.password', 'token', '*.token', 'authorization', '*.authorization',
      // Sealed at rest (issue #14): the IPMI Kg and the Talos cluster secrets, should a caller ever log them.
      'kgHex', '*.kgHex', '*.options.kgHex', 'secrets', '*.secrets', '*.talos.secrets', '*.spec.talos.secrets',
    ],
    censor: '[redacted]',
  };
  if (process.stdout.isTTY && !process.env.RACKBOOT_LOG_JSON) {
    return pino({ level, redact, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino({ level, redact });
}

/** A logger that drops everything (tests, CLI). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export type { Logger };
