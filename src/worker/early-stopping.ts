/**
 * Early stopping for one cohort member, as Keras's EarlyStopping with restore_best_weights: the
 * monitored validation value is checked on evaluation epochs; an improvement by more than
 * `min_delta` marks the epoch whose weights are kept; `patience` epochs without one stop the member.
 */
import { type EarlyStopping, isMetricName, METRICS } from '../types.js';

export type StopDecision = 'improved' | 'wait' | 'stop';

export class EarlyStopper {
  /** Best monitored value so far (null before the first finite one). */
  bestValue: number | null = null;
  /** Epoch of bestValue: the weights the member keeps. */
  bestEpoch: number | null = null;
  /** Epoch the member stopped at (null while it trains). */
  stoppedEpoch: number | null = null;
  private readonly higherIsBetter: boolean;

  constructor(readonly config: EarlyStopping) {
    this.higherIsBetter = isMetricName(config.monitor) ? METRICS[config.monitor].higherIsBetter : false; // 'loss': lower is better
  }

  /**
   * The monitored value at an evaluation epoch (null or NaN: undefined this epoch, never an
   * improvement). Returns what the member does next.
   */
  observe(epoch: number, value: number | null): StopDecision {
    if (this.stoppedEpoch !== null) return 'stop';
    const finite = typeof value === 'number' && Number.isFinite(value);
    const gain = finite && this.bestValue !== null ? (this.higherIsBetter ? value - this.bestValue : this.bestValue - value) : 0;
    if (finite && (this.bestValue === null || gain > this.config.min_delta)) {
      this.bestValue = value;
      this.bestEpoch = epoch;
      return 'improved';
    }
    if (epoch - (this.bestEpoch ?? 0) >= this.config.patience) {
      this.stoppedEpoch = epoch;
      return 'stop';
    }
    return 'wait';
  }
}
