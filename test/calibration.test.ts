/** Expected calibration error and reliability bins, against examples worked by hand. */
import { describe, expect, it } from 'vitest';
import { CALIBRATION_BINS, calibrationBins, expectedCalibrationError } from '../src/worker/calibration.js';

const logit = (p: number) => Math.log(p / (1 - p));

describe('calibration', () => {
  it('bins probabilities in 15 equal-width bins; p = 1 falls in the last', () => {
    const c = calibrationBins([0, 1, 1, 0, 1], [0.01, 0.5, 0.99, 0.2, 1 - 1e-12].map(logit));
    expect(c.count).toHaveLength(CALIBRATION_BINS);
    // 0.01 -> bin 0; 0.2 -> bin 3 (0.2·15 = 3); 0.5 -> bin 7; 0.99 and ~1 -> bin 14
    expect(c.count).toEqual([1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2]);
    expect(c.positives).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2]);
    expect(c.sum_p[14]).toBeCloseTo(1.99, 10);
    expect(calibrationBins([1], [1000]).count[14]).toBe(1);
  });

  it('ECE by hand: Σ n_b/n · |positive rate − mean p|', () => {
    // bin 7 (p 0.5): 2 rows, 1 positive -> |0.5 − 0.5| = 0
    // bin 13 (p 0.9): 4 rows, 2 positives -> |0.5 − 0.9| = 0.4, weight 4/8
    // bin 1 (p 0.1): 2 rows, 1 positive -> |0.5 − 0.1| = 0.4, weight 2/8
    const labels = [1, 0, 1, 1, 0, 0, 1, 0];
    const p = [0.5, 0.5, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1];
    const c = calibrationBins(labels, p.map(logit));
    expect(expectedCalibrationError(c)).toBeCloseTo((4 / 8) * 0.4 + (2 / 8) * 0.4, 12);
  });

  it('is 0 for perfectly calibrated bins and 1 for confidently wrong predictions', () => {
    // p = 0.25 on 4 rows with 1 positive; p = 0.75 on 4 rows with 3 positives
    const c = calibrationBins([1, 0, 0, 0, 1, 1, 1, 0], [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75].map(logit));
    expect(expectedCalibrationError(c)).toBeCloseTo(0, 12);
    expect(expectedCalibrationError(calibrationBins([0, 1], [60, -60]))).toBeCloseTo(1, 12);
  });

  it('no rows: 0', () => {
    expect(expectedCalibrationError(calibrationBins([], []))).toBe(0);
  });
});
