/**
 * Dynamic TFTP files. Another subsystem renders content per client (a per-MAC GRUB config
 * `grub/grub.cfg-01-<mac>`, `pxelinux.cfg/01-<mac>`, an iPXE script) by registering a handler
 * with the registry the composition root (main.ts) builds and gives to the TFTP server:
 *
 *   const unregister = registry.register({
 *     match: (path) => path.startsWith('grub/grub.cfg-01-'),
 *     open: async (path, client) => ({ stream: Buffer.from(render(path, client.mac)) }),
 *   });
 *
 * Handlers are asked in registration order before the root directory; the first whose
 * `match` is true owns the path (the root is not consulted for it). Paths are normalized first:
 * root-relative, `/` separators (backslashes mapped), no `..`, no leading slash.
 * `open` returning null answers "file not found"; throwing answers a TFTP error 0 and is logged.
 * There is no process-wide registry: each server serves the one it is given.
 */

/** The client a dynamic file is rendered for; `mac` is known when the DHCP lease table has the IP. */
export interface TftpClient {
  address: string;
  port: number;
  mac?: string;
}

/** Content produced by a handler; give `size` for a stream so tsize can be announced (RFC 2349). */
export interface TftpContent {
  size?: number;
  stream: AsyncIterable<Buffer> | Buffer;
}

/** A producer of dynamic files for the TFTP server. */
export interface TftpHandler {
  /** True when this handler owns the (normalized) path. */
  match(path: string): boolean;
  /** Renders the file for a client; null means "file not found". May be slow (async). */
  open(path: string, client: TftpClient): Promise<TftpContent | null>;
}

/** An ordered set of handlers. */
export class TftpHandlerRegistry {
  private readonly handlers: TftpHandler[] = [];

  /** Adds a handler; returns a function that removes it again. */
  register(handler: TftpHandler): () => void {
    this.handlers.push(handler);
    return () => {
      const i = this.handlers.indexOf(handler);
      if (i !== -1) this.handlers.splice(i, 1);
    };
  }

  /** The first handler that owns `path`, if any. */
  find(path: string): TftpHandler | undefined {
    return this.handlers.find((h) => h.match(path));
  }
}
