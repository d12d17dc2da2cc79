/**
 * 6. Report build time and size at 1,000 and 10,000 trials, through bench/report-size.mjs
 * (measureReport({ trials }) -> { ms, bytes, ... }, written with the report).
 *
 *   node bench/report.mjs [--runs 3] [--sizes 1000,10000]
 */
import { flags, isMain, log, stats } from './lib.mjs';
import { measureReport } from './report-size.mjs';

export async function measureReports({ sizes = [1000, 10000], runs = [3, 2] } = {}) {
  const out = { available: true, sizes: {} };
  for (const [i, n] of sizes.entries()) {
    const ms = [];
    const bytes = [];
    let trials = n;
    for (let r = 0; r < (Array.isArray(runs) ? runs[i] : runs); r++) {
      const res = await measureReport({ trials: n });
      ms.push(res.ms);
      bytes.push(res.bytes);
      trials = res.trials ?? n;
      log(`report ${trials} trials: ${(res.ms / 1000).toFixed(2)} s, ${(res.bytes / 1e6).toFixed(2)} MB`);
    }
    out.sizes[n] = { trials, ms: stats(ms), bytes: stats(bytes) };
  }
  return out;
}

if (isMain(import.meta.url)) {
  const f = flags();
  const runs = f.runs ? Number(f.runs) : undefined;
  console.log(JSON.stringify(await measureReports({ sizes: f.sizes ? String(f.sizes).split(',').map(Number) : undefined, runs })));
}
