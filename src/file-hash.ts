/** SHA-256 of a file's bytes, cached by path, size and mtime: CSV data is hashed into trial keys and re-checked before training. */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dataFileChunks } from './data-file.js';

const known = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

/**
 * Hex SHA-256 of a data file; reads it again only when its size or mtime changed. Throws as statSync
 * does, and CsvError for what data-file.ts refuses (not a regular file, over the size limit).
 */
export function fileSha256(path: string): string {
  const st = statSync(path);
  const hit = known.get(path);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
  const hash = createHash('sha256');
  for (const chunk of dataFileChunks(path)) hash.update(chunk);
  const sha256 = hash.digest('hex');
  known.set(path, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
  return sha256;
}
