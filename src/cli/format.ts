/**
 * Text layout shared by the commands: aligned columns and JSON lines.
 */

/** Lays out rows as left-aligned text columns (the columns in `rightAligned` right-aligned). */
export function formatTable(
  rows: string[][],
  rightAligned: ReadonlySet<number> = new Set(),
): string {
  const widths: number[] = []
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  const line = (row: string[]): string =>
    row
      .map((cell, i) => {
        const width = widths[i] ?? 0
        return rightAligned.has(i) ? cell.padStart(width) : cell.padEnd(width)
      })
      .join('  ')
      .trimEnd()
  return rows.map((row) => `  ${line(row)}`).join('\n')
}

/** `value` as one line of JSON, newline-terminated (the `--json` output of every command). */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`
}
