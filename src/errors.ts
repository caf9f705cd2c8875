/** Error catalogue: callers branch on `code`, the HTTP edge maps codes to status once. */
export const ERROR_CODES = {
  BAD_INPUT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  INVALID_CONFIG: 422,
  LOCKED: 423,
  BMC_ERROR: 502,
  BMC_UNREACHABLE: 502,
  BMC_TIMEOUT: 504,
  BMC_AUTH_FAILED: 502,
  BMC_PRIVILEGE: 502,
  UNSUPPORTED: 501,
  /** A bounded resource is full right now (e.g. live event streams); retry later. */
  UNAVAILABLE: 503,
  /** The PostgreSQL store cannot be reached right now (down, unreachable, or past the call's deadline); retry later. */
  STORE_UNAVAILABLE: 503,
  PROTOCOL: 400,
  SETTINGS: 500,
  /** The inventory database cannot be used as it is (damaged, or a schema newer than this binary). */
  DATABASE: 500,
  INTERNAL: 500,
} as const;

/** One of the stable error codes in the catalogue. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** An application error with a stable code and optional structured details. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
  }
}

/** HTTP status for an error code. */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code];
}

/** True when `e` is an AppError with the given code. */
export function isAppError(e: unknown, code?: ErrorCode): e is AppError {
  return e instanceof AppError && (code === undefined || e.code === code);
}
