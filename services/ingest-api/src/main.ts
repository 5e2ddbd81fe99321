/** ingest-api entry point: telemetry, config, the app, drained on SIGTERM (runService). */
import { runService } from '@tributary/runtime/run-service';
import { createApp } from './app';
import { loadConfig } from './config';

runService({ name: 'ingest-api', loadConfig, createApp });
