/**
 * @tributary/cli as a library: only what tests need to prepare a stack the way `tributary migrate` does.
 */
export { ensureDatabase, migrate, type MigrateOptions } from './migrate';
