/**
 * What a sweep tells its user while it runs: the plan, a live bar on a TTY or a plain line every few
 * seconds otherwise, one JSON event per line with --progress jsonl, and the summary.
 */
import { formatDuration } from '../duration.js';

export type ProgressMode = 'tty' | 'plain' | 'jsonl' | 'none';

export interface PlanInfo {
  sweep: string;
  db: string;
  total: number;
  toRun: number;
  complete: number;
  failed: number;
  merged: number;
  /** Trials the γ = 0 controls added (grid.controls). */
  controls: number;
  cohorts: number;
  executor: string;
  backend: string;
}

export interface Counts {
  done: number;
  failed: number;
  running: number;
}

interface Writer {
  write(s: string): unknown;
}

export class Progress {
  private counts: Counts = { done: 0, failed: 0, running: 0 };
  private total = 0;
  private started = 0;
  private timer: NodeJS.Timeout | null = null;
  private barShown = false;

  /**
   * @param mode tty: redrawn bar; plain: a line every `intervalMs`; jsonl: events; none: silent
   * @param intervalMs plain-mode line interval. Default 5000.
   */
  constructor(
    readonly mode: ProgressMode,
    private readonly out: Writer,
    private readonly intervalMs = 5000,
  ) {}

  plan(p: PlanInfo): void {
    this.total = p.toRun;
    this.started = performance.now();
    if (this.mode === 'jsonl') {
      this.event({ event: 'plan', ...p });
      return;
    }
    if (this.mode === 'none') return;
    const already = [
      p.complete && `${p.complete} already complete`,
      p.failed && `${p.failed} failed before (--retry-failed reruns them)`,
      p.merged && `${p.merged} duplicate configurations merged`,
      p.controls && `${p.controls} γ = 0 control trial${p.controls === 1 ? '' : 's'} added (grid.controls)`,
    ]
      .filter(Boolean)
      .join(', ');
    this.line(
      `${p.sweep}: ${p.toRun} trial${p.toRun === 1 ? '' : 's'} in ${p.cohorts} cohort${p.cohorts === 1 ? '' : 's'}, ${p.executor}, ${p.backend} backend${already ? ` (${already})` : ''}`,
    );
    this.line(`writing to ${p.db}`);
  }

  start(): void {
    if (this.mode === 'tty') this.timer = setInterval(() => this.drawBar(), 250);
    else if (this.mode === 'plain') this.timer = setInterval(() => this.line(this.status()), this.intervalMs);
    this.timer?.unref();
  }

  update(counts: Partial<Counts>): void {
    Object.assign(this.counts, counts);
  }

  /** One finished trial (jsonl: an event per trial). */
  trial(event: { key: string; state: string; setting?: string; seed?: number; objective?: number | null; error?: string }): void {
    if (this.mode === 'jsonl') this.event({ event: 'trial', ...event });
  }

  /** A message that must be seen (a failed cohort, a signal). */
  note(message: string, data: Record<string, unknown> = {}): void {
    if (this.mode === 'jsonl') this.event({ event: 'note', message, ...data });
    else if (this.mode !== 'none') this.line(message);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.barShown) {
      this.out.write('\r\x1b[2K');
      this.barShown = false;
    }
  }

  /** Final lines; shown even in 'none' mode (quiet still gets the answer). */
  summary(lines: string[], data: Record<string, unknown>): void {
    this.stop();
    if (this.mode === 'jsonl') {
      this.event({ event: 'summary', ...data });
      return;
    }
    for (const l of lines) this.out.write(`${l}\n`);
  }

  private status(): string {
    const { done, failed, running } = this.counts;
    const elapsed = (performance.now() - this.started) / 1000;
    const finished = done + failed;
    const rate = elapsed > 0 ? finished / elapsed : 0;
    const left = this.total - finished;
    const eta = rate > 0 ? formatDuration((left / rate) * 1000) : '?';
    return `${finished}/${this.total} · ${done} done · ${failed} failed · ${running} running · ${rate.toFixed(1)} trials/s · ETA ${eta}`;
  }

  private drawBar(): void {
    const width = 24;
    const finished = this.counts.done + this.counts.failed;
    const filled = this.total ? Math.round((finished / this.total) * width) : width;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.status()}`;
    // A line wider than the terminal wraps, and \r can only redraw the last row: cut it to fit.
    const columns = (this.out as { columns?: number }).columns;
    this.out.write(`\r\x1b[2K${columns ? [...bar].slice(0, columns - 1).join('') : bar}`);
    this.barShown = true;
  }

  private line(s: string): void {
    if (this.barShown) this.out.write('\r\x1b[2K');
    this.out.write(`${s}\n`);
    if (this.barShown) this.drawBar();
  }

  private event(e: Record<string, unknown>): void {
    this.out.write(`${JSON.stringify(e)}\n`);
  }
}
