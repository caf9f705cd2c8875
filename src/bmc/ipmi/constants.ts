/** RMCP header constants (ASF 2.0 §3.2.2.1; IPMI 2.0 §13.1.3). */
export const RMCP = { VERSION: 0x06, SEQ_NO_ACK: 0xff, CLASS_ASF: 0x06, CLASS_IPMI: 0x07 } as const;

/** ASF IANA enterprise number and message types (ASF 2.0 §3.2.4). */
export const ASF = { IANA: 4542, PING: 0x80, PONG: 0x40 } as const;

/** Session header auth type / format byte (IPMI 2.0 §13.6): 0x06 means RMCP+. */
export const AUTH_TYPE = { NONE: 0x00, RMCP_PLUS: 0x06 } as const;

/** RMCP+ payload types (IPMI 2.0 table 13-16). */
export const PAYLOAD = {
  IPMI: 0x00,
  OPEN_SESSION_REQUEST: 0x10,
  OPEN_SESSION_RESPONSE: 0x11,
  RAKP1: 0x12,
  RAKP2: 0x13,
  RAKP3: 0x14,
  RAKP4: 0x15,
} as const;

/** Privilege levels (IPMI 2.0 table 6-2 / §22.13). */
export const PRIV = { CALLBACK: 1, USER: 2, OPERATOR: 3, ADMIN: 4 } as const;
/** A privilege level name as operators write it in BMC options. */
export type PrivilegeName = 'user' | 'operator' | 'admin';

/** Algorithms of the two cipher suites we speak (IPMI 2.0 table 22-20). */
export const CIPHER_SUITES = {
  3: { auth: 0x01, integrity: 0x01, conf: 0x01, hash: 'sha1', authCodeLen: 20, icvLen: 12 },
  17: { auth: 0x03, integrity: 0x04, conf: 0x01, hash: 'sha256', authCodeLen: 32, icvLen: 16 },
} as const;
/** Cipher suite id: 3 = RAKP-HMAC-SHA1/HMAC-SHA1-96/AES-CBC-128, 17 = the SHA-256 equivalents. */
export type CipherSuiteId = keyof typeof CIPHER_SUITES;

/** Network functions and commands we send (IPMI 2.0 appendix G). */
export const NETFN = { CHASSIS: 0x00, APP: 0x06 } as const;
/** Command numbers (IPMI 2.0 appendix G). */
export const CMD = {
  GET_CHASSIS_STATUS: 0x01,
  /** App netfn (§20.1); the same number as Get Chassis Status in the Chassis netfn. */
  GET_DEVICE_ID: 0x01,
  CHASSIS_CONTROL: 0x02,
  SET_BOOT_OPTIONS: 0x08,
  GET_BOOT_OPTIONS: 0x09,
  GET_CHANNEL_AUTH_CAPS: 0x38,
  SET_SESSION_PRIVILEGE: 0x3b,
  CLOSE_SESSION: 0x3c,
} as const;

/** Chassis Control data byte (IPMI 2.0 §28.3). */
export const CHASSIS_CONTROL = { DOWN: 0, UP: 1, CYCLE: 2, HARD_RESET: 3, SOFT: 5 } as const;

/** Boot device selector in boot flags byte 2 bits 5:2 (IPMI 2.0 table 28-14, param 5). */
export const BOOT_DEVICE_SELECTOR = { none: 0x0, pxe: 0x1, disk: 0x2, cdrom: 0x5, bios: 0x6 } as const;

/** BMC address and our software id as requester (IPMI 2.0 §5.5: remote console SWID 0x81). */
export const ADDR = { BMC: 0x20, REMOTE_CONSOLE: 0x81 } as const;

/** Completion codes we branch on (IPMI 2.0 table 5-2). */
export const CC = { OK: 0x00, PARAM_NOT_SUPPORTED: 0x80, INSUFFICIENT_PRIVILEGE: 0xd4, INVALID_DATA_FIELD: 0xcc, INVALID_COMMAND: 0xc1 } as const;

/** RMCP+ status codes that mean "wrong credentials" (IPMI 2.0 table 13-15). */
export const RMCPP_AUTH_STATUS = new Set([0x0d, 0x0e, 0x0f]);
/** RMCP+ status codes that mean "this cipher suite is not offered" (IPMI 2.0 table 13-15). */
export const RMCPP_ALGO_STATUS = new Set([0x04, 0x05, 0x06, 0x07, 0x10, 0x11, 0x12]);
/** RMCP+ status codes for a refused privilege level. */
export const RMCPP_PRIV_STATUS = new Set([0x09, 0x0a, 0x0b]);
