/** Records the process's unhandled rejections while watching: a Redis fault must never leak one. */
export function watchUnhandledRejections() {
  const reasons: unknown[] = [];
  const record = (reason: unknown): void => {
    reasons.push(reason);
  };
  return {
    /** Every rejection recorded and not yet taken out. */
    reasons,
    start: (): void => void process.on('unhandledRejection', record),
    stop: (): void => void process.off('unhandledRejection', record),
  };
}
