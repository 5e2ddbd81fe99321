/**
 * Reads the ONNX files of a pipeline's `model` steps at load time (so `tributary validate` and
 * every service's start find a missing or corrupt model, or a mapping that does not fit it, before
 * anything runs) and returns their identities and signatures with the problems found, each at
 * the path of the step field it is about.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { onnxSignature, type OnnxSignature } from '../schema/onnx-signature';
import { checkModelMapping } from './steps/model';
import type { PipelineSpec } from './pipeline-spec';
import { normaliseStep } from './steps/registry';

/** A model file as loaded: its absolute path, identity and signature. */
export type LoadedModel = OnnxSignature & { path: string };

/** Loads the models of every `model` step of `spec` (files relative to `dir`). */
export function resolveModels(
  spec: PipelineSpec,
  dir: string,
): { models: Record<string, LoadedModel>; problems: { path: PropertyKey[]; message: string }[] } {
  const models: Record<string, LoadedModel> = {};
  const failed = new Set<string>();
  const problems: { path: PropertyKey[]; message: string }[] = [];
  for (const [name, ds] of Object.entries(spec.datasets)) {
    ds.steps.forEach((s, i) => {
      const step = normaliseStep(s as Record<string, unknown>);
      if (step.kind !== 'model') return;
      const at = ['datasets', name, 'steps', i, 'model'];
      const ref = step.config.file;
      if (failed.has(ref)) return;
      if (!(ref in models)) {
        const target = path.resolve(dir, ref);
        try {
          models[ref] = { ...onnxSignature(readFileSync(target), target), path: target };
        } catch (err) {
          failed.add(ref);
          const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
          problems.push({ path: [...at, 'file'], message: `model ${ref} (${target}): ${why}` });
          return;
        }
      }
      for (const p of checkModelMapping(step.config, models[ref]!))
        problems.push({ path: [...at, ...p.path], message: `model ${ref}: ${p.message}` });
    });
  }
  return { models, problems };
}
