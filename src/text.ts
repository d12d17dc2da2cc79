/**
 * Values as they appear in messages: sizes in bytes, and user data quoted and cut to a readable length.
 */

/** "1,500 bytes", "69 MiB", "2.0 GiB". */
export function formatBytes(n: number): string {
  if (n < 2 ** 20) return `${Math.round(n).toLocaleString('en-US')} bytes`;
  if (n < 2 ** 30) return `${Math.round(n / 2 ** 20)} MiB`;
  return `${(n / 2 ** 30).toFixed(1)} GiB`;
}
