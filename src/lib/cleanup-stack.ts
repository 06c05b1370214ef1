/**
 * Undo steps, newest first: each step that opens something pushes how to close it, and `run()`
 * closes everything in reverse order. Every step runs even when an earlier one fails; the first
 * failure is rethrown once all have run. Used by the composition roots (`up`, `import`) and by
 * their signal handlers, so a failure or a signal at any point undoes exactly what was done.
 */
export type UndoStep = () => Promise<void> | void;

export class CleanupStack {
  readonly #steps: UndoStep[] = [];
  #running: Promise<void> | undefined;

  /** Registers an undo step; returns it, so it can be `remove`d later. */
  push(step: UndoStep): UndoStep {
    this.#steps.push(step);
    return step;
  }

  /** Takes a step off the stack without running it (it ran, or its work is now wanted). */
  remove(step: UndoStep): boolean {
    const index = this.#steps.lastIndexOf(step);
    if (index >= 0) this.#steps.splice(index, 1);
    return index >= 0;
  }

  /** Forgets every step: what they would undo is committed. */
  clear(): void {
    this.#steps.length = 0;
  }

  get size(): number {
    return this.#steps.length;
  }

  /**
   * Runs the steps newest first and empties the stack. A second call while one runs (a signal
   * during a failure's cleanup) waits for the same run instead of racing it.
   */
  run(): Promise<void> {
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #drain(): Promise<void> {
    let failed = false;
    let first: unknown;
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
      try {
        await step();
      } catch (error) {
        if (!failed) first = error;
        failed = true;
      }
    }
    if (failed) throw first;
  }
}
