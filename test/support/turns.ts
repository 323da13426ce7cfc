/** Lets `n` turns of the event loop pass (timers of 0 ms, I/O callbacks, immediates). */
export async function turns(n = 1): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}
