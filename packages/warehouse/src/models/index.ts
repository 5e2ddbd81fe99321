/**
 * @tributary/warehouse/models: SQL models and their runner.
 */
export { runModel, runModels, type ModelRun } from './model-runner';
