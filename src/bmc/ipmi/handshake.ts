import { randomBytes } from 'node:crypto';
import { AppError, isAppError } from '../../errors.js';
import { decodeChannelAuthCaps, encodeGetChannelAuthCaps } from './commands.js';
import {
  CIPHER_SUITES,
  type CipherSuiteId,
  CMD,
  NETFN,
  PAYLOAD,
  RMCPP_ALGO_STATUS,
  RMCPP_AUTH_STATUS,
  RMCPP_PRIV_STATUS,
} from './constants.js';
import { codesEqual, deriveKeys, type RakpContext, rakp2AuthCode, rakp3AuthCode, rakp4Icv, sessionIntegrityKey } from './crypto.js';
import {
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
} from './rakp.js';
import { type Established, IpmiSession } from './session.js';

/** RAKP 1 role byte bit 4: name-only lookup (IPMI 2.0 table 13-11), what ipmitool sends by default. */
const NAME_ONLY_LOOKUP = 0x10;

/** Runs Get Channel Auth Caps, then Open Session + RAKP 1–4 for each suite until one is accepted. */
export async function handshake(s: IpmiSession): Promise<Established> {
  const caps = await s.sessionless(NETFN.APP, CMD.GET_CHANNEL_AUTH_CAPS, encodeGetChannelAuthCaps(s.o.privilege));
  if (caps.completionCode !== 0) throw bmcError(s, 'Get Channel Auth Capabilities failed', caps.completionCode);
  if (!decodeChannelAuthCaps(caps.data).ipmi20) {
    throw new AppError('UNSUPPORTED', `BMC ${s.o.host} does not offer IPMI v2.0 (RMCP+) on this channel`);
  }
  let last: AppError | undefined;
  for (const suite of s.o.suites) {
    try {
      return await openWithSuite(s, suite);
    } catch (e) {
      // Only "this suite is not offered" moves on to the next suite; auth failures never retry.
      if (isAppError(e) && (e.details as { nextSuite?: boolean } | undefined)?.nextSuite) {
        s.o.log.debug({ bmc: s.o.host, suite }, 'cipher suite refused, trying next');
        last = e;
        continue;
      }
      throw e;
    }
  }
  if (last?.code === 'BMC_TIMEOUT') throw new AppError('BMC_TIMEOUT', last.message, { details: { suites: s.o.suites } });
  throw new AppError('UNSUPPORTED', `BMC ${s.o.host} accepted none of cipher suites ${s.o.suites.join(', ')}`, { cause: last });
}

async function openWithSuite(s: IpmiSession, suite: CipherSuiteId): Promise<Established> {
  const cs = CIPHER_SUITES[suite];
  const consoleSessionId = IpmiSession.randomSessionId();
  const tag = randomBytes(1)[0]!;
  let osr: ReturnType<typeof decodeOpenSessionResponse>;
  try {
    const raw = await s.handshakeExchange(
      PAYLOAD.OPEN_SESSION_REQUEST,
      encodeOpenSessionRequest({ tag, privilege: 0, consoleSessionId, suite }),
      PAYLOAD.OPEN_SESSION_RESPONSE,
      tag,
    );
    osr = decodeOpenSessionResponse(raw);
  } catch (e) {
    // Some BMCs silently drop a proposal they do not support: move on to the next suite.
    if (isAppError(e, 'BMC_TIMEOUT')) throw new AppError('BMC_TIMEOUT', e.message, { details: { nextSuite: true }, cause: e });
    throw e;
  }
  if (osr.status !== 0) {
    if (RMCPP_ALGO_STATUS.has(osr.status)) throw new AppError('UNSUPPORTED', `suite ${suite} refused (status 0x${osr.status.toString(16)})`, { details: { nextSuite: true, status: osr.status } });
    throw rmcppError(s, 'Open Session', osr.status);
  }
  if (osr.auth !== cs.auth || osr.integrity !== cs.integrity || osr.conf !== cs.conf) {
    throw new AppError('UNSUPPORTED', `suite ${suite}: BMC chose other algorithms`, { details: { nextSuite: true, osr } });
  }
  const ctx: RakpContext = {
    suite,
    consoleSessionId,
    bmcSessionId: osr.bmcSessionId,
    consoleRandom: randomBytes(16),
    bmcRandom: Buffer.alloc(16),
    bmcGuid: Buffer.alloc(16),
    role: NAME_ONLY_LOOKUP | s.o.privilege,
    username: s.o.username,
    password: s.o.password,
    ...(s.o.kg ? { kg: s.o.kg } : {}),
  };
  const tag1 = (tag + 1) & 0xff;
  const r2 = decodeRakp2(
    await s.handshakeExchange(
      PAYLOAD.RAKP1,
      encodeRakp1({ tag: tag1, bmcSessionId: ctx.bmcSessionId, consoleRandom: ctx.consoleRandom, role: ctx.role, username: ctx.username }),
      PAYLOAD.RAKP2,
      tag1,
    ),
    cs.authCodeLen,
  );
  if (r2.status !== 0) throw rmcppError(s, 'RAKP 2', r2.status);
  ctx.bmcRandom = r2.bmcRandom;
  ctx.bmcGuid = r2.bmcGuid;
  const tag3 = (tag + 2) & 0xff;
  if (!codesEqual(r2.authCode, rakp2AuthCode(ctx))) {
    // Tell the BMC we reject it (status 0x0F, invalid integrity check value) so it frees the slot.
    await s.handshakeExchange(PAYLOAD.RAKP3, encodeRakp3({ tag: tag3, status: 0x0f, bmcSessionId: ctx.bmcSessionId, authCode: Buffer.alloc(0) }), PAYLOAD.RAKP4, tag3, 1).catch(() => {});
    throw new AppError('BMC_AUTH_FAILED', `BMC ${s.o.host}: wrong user name or password (RAKP 2 auth code mismatch)`, { details: { suite } });
  }
  const sik = sessionIntegrityKey(ctx);
  const r4 = decodeRakp4(
    await s.handshakeExchange(PAYLOAD.RAKP3, encodeRakp3({ tag: tag3, status: 0, bmcSessionId: ctx.bmcSessionId, authCode: rakp3AuthCode(ctx) }), PAYLOAD.RAKP4, tag3),
    cs.icvLen,
  );
  if (r4.status !== 0) throw rmcppError(s, 'RAKP 4', r4.status);
  if (!codesEqual(r4.icv, rakp4Icv(ctx, sik))) {
    throw new AppError('BMC_AUTH_FAILED', `BMC ${s.o.host}: RAKP 4 integrity check failed (wrong BMC key Kg?)`, { details: { suite } });
  }
  return { suite, consoleSessionId, bmcSessionId: ctx.bmcSessionId, keys: deriveKeys(suite, sik) };
}

function rmcppError(s: IpmiSession, step: string, status: number): AppError {
  const details = { step, status };
  if (RMCPP_AUTH_STATUS.has(status)) return new AppError('BMC_AUTH_FAILED', `BMC ${s.o.host} refused the login at ${step} (status 0x${status.toString(16)})`, { details });
  if (RMCPP_PRIV_STATUS.has(status)) return new AppError('BMC_PRIVILEGE', `BMC ${s.o.host} refused the privilege level at ${step} (status 0x${status.toString(16)})`, { details });
  return new AppError('BMC_ERROR', `BMC ${s.o.host}: ${step} failed with RMCP+ status 0x${status.toString(16)}`, { details });
}

/** A completion-code error keeping the code in details. */
export function bmcError(s: IpmiSession, what: string, completionCode: number): AppError {
  const code = completionCode === 0xd4 ? 'BMC_PRIVILEGE' : 'BMC_ERROR';
  return new AppError(code, `BMC ${s.o.host}: ${what} (completion code 0x${completionCode.toString(16)})`, { details: { completionCode } });
}
