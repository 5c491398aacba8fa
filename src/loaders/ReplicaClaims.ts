import type { UserAccessResultItem } from "../appfabric/types.js";
import type { SharedResultStore } from "./SharedResultStore.js";

/** What a fetch answers for one id: the item, nothing (AppFabric does not know it), or an error. */
export type Answer = UserAccessResultItem | undefined | Error;

/**
 * The refresh claims this replica holds in Redis, each with the answer its fetch will give: another
 * operation of this replica that finds an id here waits for that answer instead of asking again.
 */
export class ReplicaClaims {
  readonly #claims = new Map<string, { answer: Promise<Answer>; settle: (answer: Answer) => void }>();
  readonly #shared: SharedResultStore | undefined;

  constructor(shared: SharedResultStore | undefined) {
    this.#shared = shared;
  }

  has(taskId: string): boolean {
    return this.#claims.has(taskId);
  }

  /** The answer of the fetch under this replica's claim on `taskId`; undefined without one. */
  answerOf(taskId: string): Promise<Answer> | undefined {
    return this.#claims.get(taskId)?.answer;
  }

  /** This replica won the claim on `taskId` in Redis. */
  hold(taskId: string): void {
    let settle: (answer: Answer) => void = () => undefined;
    const answer = new Promise<Answer>((resolve) => (settle = resolve));
    this.#claims.set(taskId, { answer, settle });
  }

  /** The claim on `taskId`, if this replica holds one, ends with `answer`: its other operations waiting for it get it. */
  settle(taskId: string, answer: Answer): void {
    const claim = this.#claims.get(taskId);
    if (claim === undefined) return;
    this.#claims.delete(taskId);
    claim.settle(answer);
  }

  /** Gives back claims without storing anything (a re-read found the result, or the fetch failed as a whole). */
  release(claimed: readonly string[], answer: (taskId: string) => Answer): void {
    if (claimed.length === 0) return;
    void this.#shared?.store([], claimed);
    for (const taskId of claimed) this.settle(taskId, answer(taskId));
  }
}
