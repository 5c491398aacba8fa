/**
 * An async iterator of snapshots for one subscriber, as graphql-js's `subscribe` consumes it.
 *
 * Each value is a whole snapshot (the subscriber's full list), so only the latest one matters: a
 * snapshot pushed while an earlier one has not been taken replaces it. A subscriber whose socket reads
 * slowly therefore holds one snapshot, never a growing queue.
 *
 * Written by hand rather than as an `async function*`: a generator suspended in an `await` cannot be
 * stopped until that await settles, so a client's `complete` (and a closed socket) would wait for the
 * next change of its tasks. Here `return()` ends the stream at once and runs `onClose`.
 */
export class SnapshotStream<T> implements AsyncIterableIterator<T> {
  #latest: { value: T } | undefined;
  #waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: Error) => void } | undefined;
  /** Set once no more snapshots will come: after the last one is taken, the stream ends (with this error, if any). */
  #ending: { error?: Error } | undefined;
  #closed = false;
  readonly #onClose: () => void;

  constructor(onClose: () => void) {
    this.#onClose = onClose;
  }

  /** Whether the stream has ended or been closed: pushing does nothing any more. */
  get closed(): boolean {
    return this.#closed || this.#ending !== undefined;
  }

  push(value: T): void {
    if (this.closed) return;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting.resolve({ value, done: false });
    } else {
      this.#latest = { value };
    }
  }

  /** No more snapshots: the consumer gets the one not yet taken (if any), then the end, or `error`. */
  end(error?: Error): void {
    if (this.closed) return;
    this.#ending = error === undefined ? {} : { error };
    if (this.#waiting !== undefined && this.#latest === undefined) this.#finish();
  }

  next(): Promise<IteratorResult<T>> {
    const latest = this.#latest;
    if (latest !== undefined) {
      this.#latest = undefined;
      return Promise.resolve({ value: latest.value, done: false });
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    if (this.#ending !== undefined) {
      const { error } = this.#ending;
      this.#close();
      return error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  /** The consumer stops (the client completed the subscription, or its socket closed). */
  return(): Promise<IteratorResult<T>> {
    this.#close();
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Hands a waiting consumer the end (or the error) the stream was ended with. */
  #finish(): void {
    const waiting = this.#waiting;
    const error = this.#ending?.error;
    this.#waiting = undefined;
    this.#close();
    if (waiting === undefined) return;
    if (error === undefined) waiting.resolve({ value: undefined, done: true });
    else waiting.reject(error);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#latest = undefined;
    this.#onClose();
  }
}
