/**
 * The one shape of clock: milliseconds from a fixed point. Every component that reads the time takes
 * one, so that tests move time by hand instead of racing it. Its default is `Date.now` (the epoch)
 * wherever a time is stored, signed or compared with another process's; the watcher, which only
 * measures its intervals, defaults to `performance.now`, which never jumps. A component that needs a
 * `Date` (signing, AWS's `Date` header) makes it from this.
 */
export type Clock = () => number;
