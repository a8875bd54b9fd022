/**
 * Re-runs `probe` until it stops throwing (typically: until its `expect`s pass) or `timeoutMs` passes,
 * then rethrows the last failure so the test reports what was still wrong.
 */
export const eventually = async <T>(probe: () => Promise<T> | T, timeoutMs = 5_000, intervalMs = 20): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
};
