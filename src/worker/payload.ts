/**
 * What a worker accepts: checked before any training (and, in distributed workers, in the main
 * thread before a job reaches the pool), so a payload this version does not understand is refused
 * instead of training the wrong thing. Free of tfjs, so checking costs nothing at start-up.
 */
import { MAX_COHORT_SIZE, resolvedConfigProblem } from '../config-schema.js';
import { JobFormatError } from '../errors.js';
import { BACKEND_CHOICES, COHORT_FORMAT, CONFIG_VERSION, type Cohort, LOSS_KINDS, type Trial } from '../types.js';

/** Refuse a payload this version does not understand instead of training the wrong thing. */
export function checkCohort(cohort: unknown): asserts cohort is Cohort {
  const c = cohort as Partial<Cohort> | null;
  if (!c || typeof c !== 'object') throw new JobFormatError('cohort payload is not an object');
  if (c.format !== COHORT_FORMAT)
    throw new JobFormatError(`cohort format ${String(c.format)} is not supported (this worker understands format ${COHORT_FORMAT}); upgrade the worker`);
  if (typeof c.key !== 'string' || !Array.isArray(c.trials) || c.trials.length === 0) throw new JobFormatError('cohort payload has no key or no trials');
  if (!(BACKEND_CHOICES as readonly string[]).includes(String(c.backend))) throw new JobFormatError(`cohort backend ${String(c.backend)} is unknown`);
  for (const t of c.trials as Partial<Trial>[]) {
    const cfg = t?.config;
    if (typeof t?.key !== 'string' || !cfg || typeof cfg !== 'object') throw new JobFormatError('cohort trial has no key or config');
    if (cfg.v !== CONFIG_VERSION) throw new JobFormatError(`trial ${t.key}: config version ${String(cfg.v)} is not supported (expected ${CONFIG_VERSION})`);
    if (!cfg.data || !cfg.model || !cfg.train || !cfg.loss || typeof cfg.seed !== 'number')
      throw new JobFormatError(`trial ${t.key}: config is missing data, model, train, loss or seed`);
    if (!Array.isArray(cfg.model.hidden) || !(LOSS_KINDS as readonly string[]).includes(cfg.loss.kind))
      throw new JobFormatError(`trial ${t.key}: malformed model or loss`);
  }
}

/**
 * Refuse a cohort whose trial configs break the spec's own rules (types, ranges, generator and loss
 * names, batch_size ≥ 1, ...), with the spec loader's words. Distributed workers run it on every job
 * from Redis, where anyone who can reach the queue can write one; a local run's configs come from
 * the spec loader itself. Call after checkCohort.
 */
export function checkTrialConfigs(cohort: Cohort): void {
  if (cohort.trials.length > MAX_COHORT_SIZE) throw new JobFormatError(`cohort has ${cohort.trials.length} trials; at most ${MAX_COHORT_SIZE}`);
  for (const t of cohort.trials) {
    const problem = resolvedConfigProblem(t.config);
    if (problem) throw new JobFormatError(`trial ${t.key}: ${problem}`);
  }
}
