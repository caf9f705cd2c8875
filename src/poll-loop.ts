/**
 * A pass that runs now and then every `intervalMs` after the previous one settled, until stop().
 * Concurrent run() calls share the pass in flight, so a kick from a route never doubles a pass.
 */
export class PollLoop<T> {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<T> | undefined;
  private stopped = true;

  constructor(
    private readonly pass: () => Promise<T>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** One pass now (or the one in flight). */
  run(): Promise<T> {
    this.inFlight ??= this.pass().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Runs passes every `intervalMs` until stop(). */
  start(intervalMs: number): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.run()
        .catch(this.onError)
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, intervalMs).unref();
        });
    };
    this.timer = setTimeout(loop, 0).unref();
  }

  /** Stops and waits for the pass in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight?.catch(() => {});
  }
}
