/**
 * Result lines of the benchmarks (docs/testing.md): one JSON object per line on stdout,
 * `{"bench","metric","value","unit","baseline","baselineValue","ratio", …extra}` with
 * `ratio = value / baselineValue`. Human-readable lines go to stderr, so stdout stays pure JSON.
 */
import { roundSignificant } from './stats.js'

/** Extra fields appended after the standard ones (e.g. `goal`, `note`). */
export type ResultExtra = Record<string, string | number | boolean>

/** One measured result and the baseline it is compared with. */
export interface BenchResult {
  bench: string
  metric: string
  value: number
  unit: string
  /** What the baseline is, in words. */
  baseline: string
  baselineValue: number
  extra?: ResultExtra
}

const SIGNIFICANT_DIGITS = 4

/** The JSON object of a result, with the ratio computed and numbers rounded for reading. */
export function resultLine(result: BenchResult): Record<string, string | number | boolean> {
  const ratio = result.value / result.baselineValue
  return {
    bench: result.bench,
    metric: result.metric,
    value: roundSignificant(result.value, SIGNIFICANT_DIGITS),
    unit: result.unit,
    baseline: result.baseline,
    baselineValue: roundSignificant(result.baselineValue, SIGNIFICANT_DIGITS),
    ratio: roundSignificant(ratio, SIGNIFICANT_DIGITS),
    ...result.extra,
  }
}

/** Prints a result: its JSON line to stdout, a readable summary to stderr. */
export function report(result: BenchResult): void {
  const line = resultLine(result)
  process.stdout.write(JSON.stringify(line) + '\n')
  const goal = typeof line['goal'] === 'string' ? `  (goal ${line['goal']})` : ''
  say(
    `${result.bench} · ${result.metric}: ${String(line['value'])} ${result.unit} vs ` +
      `${String(line['baselineValue'])} (${result.baseline}) → ratio ${String(line['ratio'])}${goal}`,
  )
}

/** Prints a human-readable progress or summary line to stderr. */
export function say(text: string): void {
  process.stderr.write(text + '\n')
}
