/**
 * Every `tributary` subcommand, in the order the usage text lists them. A new command is a file in
 * this folder exporting a `Command` and one line here.
 */
import type { Command } from '../command';
import { backfillCliCommand } from './backfill';
import { checkCliCommand } from './check';
import { dlqCommand } from './dlq';
import { docsCommand } from './docs';
import { migrateCommand } from './migrate';
import { modelsCliCommand } from './models';
import { offsetsCommand } from './offsets';
import { pipelinesCommand } from './pipelines';
import { sourcesCommand } from './sources';
import { statusCommand } from './status';
import { testCommand } from './test';
import { reportCommand } from './report';
import { validateCommand } from './validate';
import { waitCommand } from './wait';

/** The subcommands, by name. */
export const COMMANDS: readonly Command[] = [
  migrateCommand,
  waitCommand,
  validateCommand,
  testCommand,
  docsCommand,
  checkCliCommand,
  modelsCliCommand,
  sourcesCommand,
  pipelinesCommand,
  offsetsCommand,
  backfillCliCommand,
  statusCommand,
  dlqCommand,
  reportCommand,
];
