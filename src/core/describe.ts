/**
 * Printable forms of untrusted values for error messages (HLC parsing, sync-frame validation).
 */

/** The longest description {@link describeValue} returns, before its trailing `…`. */
export const DESCRIBE_CHARS_MAX = 100

/**
 * A short printable form of an untrusted value for an error message: byte arrays as
 * `Uint8Array(<length>)`, everything else as JSON (or `String()` where JSON fails), cut to
 * {@link DESCRIBE_CHARS_MAX} characters. Never throws.
 */
export function describeValue(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  return text.length > DESCRIBE_CHARS_MAX ? `${text.slice(0, DESCRIBE_CHARS_MAX)}…` : text
}
