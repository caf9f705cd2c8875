import { createRequire } from 'node:module';
import type { ActiveTransfer, TransferConfig, TransferResult } from './transfer.js';

/** One file transfer for the native data path: the negotiated config plus file and addresses. */
export interface NativeSendOptions extends TransferConfig {
  /** Open descriptor of the file; the caller closes it once `done` has run. */
  fd: number;
  /** Bytes to send (the size announced in tsize); a file that reads shorter is a source error. */
  size: number;
  /** Address the client sent its RRQ to: the reply leaves from it, from a new port (TID). */
  localAddress: string;
  peerAddress: string;
  peerPort: number;
}

/** The native/tftp addon (rackboot-tftp): files' TFTP data path, every transfer on one native event-loop thread. */
export interface NativeTftp {
  /** Starts the transfer; `done` is called once with the same result a TS Transfer produces. */
  sendFile(opts: NativeSendOptions, done: (r: TransferResult) => void): { abort(reason?: string): void };
}

function load(): NativeTftp | undefined {
  try {
    const require = createRequire(import.meta.url);
    const addon = require('rackboot-tftp/build/Release/rackboot_tftp.node') as Partial<NativeTftp>;
    return typeof addon.sendFile === 'function' ? (addon as NativeTftp) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The addon built by npm ci (node-gyp), or undefined where it is missing: file transfers then
 * run through node:dgram and Transfer, which behave the same, only slower per packet.
 */
export const nativeTftp: NativeTftp | undefined = load();

/** Starts a native transfer as an ActiveTransfer (a failure to start is a 'source-error' result). */
export function startNativeTransfer(addon: NativeTftp, opts: NativeSendOptions): ActiveTransfer {
  let resolve!: (r: TransferResult) => void;
  const done = new Promise<TransferResult>((r) => {
    resolve = r;
  });
  try {
    const handle = addon.sendFile(opts, resolve);
    return { done, abort: (reason) => handle.abort(reason) };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    resolve({ result: 'source-error', bytes: 0, blocks: 0, retransmits: 0, ms: 0, error });
    return { done, abort: () => {} };
  }
}
