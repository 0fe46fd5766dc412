/**
 * A latch for code under test: the code calls `wait()` where it must stop; the test awaits
 * `entered` (the code has reached it) and calls `release()` to let it go on. Nothing sleeps.
 */
export interface Latch {
  entered: Promise<void>;
  release(): void;
  wait(): Promise<void>;
}

export function latch(): Latch {
  let entered!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (entered = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  return { entered: reached, release, wait: () => (entered(), gate) };
}
