// A LIFO stack of undo steps that runs exactly once: on normal exit, on failure, and on SIGINT / SIGTERM.
export type UndoStep = { what: string; run: () => Promise<void> | void };

export class Cleanup {
  private readonly steps: UndoStep[] = [];
  private running: Promise<string[]> | undefined;
  /** Steps registered after runAll began (work that finished while we were already tearing down). */
  private readonly late: Promise<void>[] = [];
  private readonly lateFailures: string[] = [];

  /** Registers an undo step; steps run newest first. Returns a function that drops the step (work undone already). */
  push(what: string, run: () => Promise<void> | void): () => void {
    const step: UndoStep = { what, run };
    if (this.running) {
      // Teardown already started (a signal mid-step): undo this one right away.
      this.late.push(
        Promise.resolve()
          .then(run)
          .catch((err: Error) => {
            this.lateFailures.push(`${what}: ${err.message.split('\n')[0]}`);
          }),
      );
      return () => undefined;
    }
    this.steps.push(step);
    return () => {
      const i = this.steps.indexOf(step);
      if (i >= 0) this.steps.splice(i, 1);
    };
  }

  /** Runs every step (newest first), each even when an earlier one failed. Returns the failures. Idempotent. */
  runAll(): Promise<string[]> {
    this.running ??= (async () => {
      const failures: string[] = [];
      while (this.steps.length > 0) {
        const step = this.steps.pop() as UndoStep;
        try {
          await step.run();
        } catch (err) {
          failures.push(`${step.what}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      return failures;
    })();
    return this.running;
  }

  /** Set when SIGINT / SIGTERM started the teardown. */
  signalled: NodeJS.Signals | undefined;

  /** True once teardown has begun (a signal, or the end of the run). */
  get aborted(): boolean {
    return this.running !== undefined;
  }

  /** Long flows call this between steps so a signal stops them instead of racing the teardown. */
  throwIfAborted(): void {
    if (this.running) throw new Error('interrupted');
  }

  /** runAll, then the late steps (registered after teardown began). Returns every failure. */
  async finish(graceMs = 0): Promise<string[]> {
    const failures = await this.runAll();
    if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
    await Promise.all(this.late);
    return [...failures, ...this.lateFailures];
  }

  /**
   * On SIGINT / SIGTERM: undo everything, then exit 130 / 143. Further signals while cleaning up are ignored
   * (npm, tsx and a terminal's Ctrl-C can each deliver one); the fourth one exits at once.
   */
  installSignalHandlers(log: (line: string) => void): () => void {
    let seen = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      seen++;
      if (seen > 1) {
        if (seen >= 4) process.exit(1);
        return;
      }
      this.signalled = signal;
      log(`\n${signal}: cleaning up...`);
      // The grace lets work in flight when the signal came finish and register (and so run) its undo step.
      void this.finish(300).then((failures) => {
        for (const f of failures) log(`  cleanup failed: ${f}`);
        log(
          failures.length === 0 ? 'interrupted: everything the demo made has been removed' : 'interrupted: cleanup incomplete (see above)',
        );
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }
}
