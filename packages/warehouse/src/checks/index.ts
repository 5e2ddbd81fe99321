/**
 * @tributary/warehouse/checks: data-quality checks and their runner.
 */
export { checkCommand, modelsCommand } from './check-command';
export { gateFails, runChecks, type CheckResult } from './check-runner';
export { expandChecks } from './expand-checks';
