/**
 * An ONNX model file loaded into onnxruntime (the native CPU build of `onnxruntime-node`, one
 * thread: the transformer scales by replicas, and two cores are shared by everything), kept
 * current with the file on disk: `current()` is asked once at the start of each batch and the
 * whole batch runs on what it returned, so a model replaced on disk changes scores between
 * batches, never inside one. A replacement that cannot be loaded, or whose signature no longer
 * fits the step's mapping, is rejected (the old model goes on) and reported.
 *
 * Why onnxruntime-node and not onnxruntime-web (WebAssembly): measured on this project's fraud
 * model (docs/ml.md), the native build loads in ~0.2 s instead of ~1.8 s, costs ~0.09 ms per
 * 100-record run instead of ~0.43 ms, and uses less memory; its size (other platforms' binaries)
 * is pruned from the transformer image, and no other service installs it.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { checkModelMapping, type ModelConfig } from '@tributary/contract/spec';
import { modelIdentity, onnxSignature, type OnnxSignature } from '@tributary/contract/schema';
import { TributaryError } from '@tributary/contract/errors';
import { InferenceSession } from 'onnxruntime-node';

/** A loaded model: the session and who it is. */
export interface LoadedModel {
  session: InferenceSession;
  signature: OnnxSignature;
  /** `<name>@<version> sha256:<hex>`. */
  identity: string;
}

/** What happened when the file changed on disk. */
export interface ModelChange {
  /** `loaded`: the new model scores from the next batch on; `rejected`: the old one goes on. */
  outcome: 'loaded' | 'rejected';
  /** The step, as `datasets.<dataset>.steps[<i>].model`. */
  where: string;
  file: string;
  previous?: string;
  /** The new model's identity (loaded), or the sha256 of the rejected file. */
  next: string;
  reason?: string;
}

/** Creates a session from a model file's bytes; a failure is TRIB_E_ML_MODEL naming the file. */
export async function loadModel(bytes: Uint8Array, file: string, where: string): Promise<LoadedModel> {
  let signature: OnnxSignature;
  try {
    signature = onnxSignature(bytes, file);
  } catch (err) {
    throw new TributaryError('TRIB_E_ML_MODEL', `${where}: model ${file}: ${(err as Error).message}`, { cause: err, location: { file } });
  }
  try {
    const session = await InferenceSession.create(bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return { session, signature, identity: modelIdentity(signature) };
  } catch (err) {
    throw new TributaryError('TRIB_E_ML_MODEL', `${where}: model ${file} cannot be loaded by onnxruntime: ${(err as Error).message}`, {
      cause: err,
      location: { file },
    });
  }
}

/** A model file, loaded, reloaded when it changes on disk. */
export class ModelFile {
  private model: LoadedModel | undefined;
  /** The file's stat stamp when last read (loaded or rejected): unchanged means nothing to do. */
  private stamp = '';
  /** A reload in progress, shared by the batches that start meanwhile. */
  private reloading: Promise<void> | undefined;

  constructor(
    private readonly file: string,
    private readonly config: ModelConfig,
    private readonly where: string,
    private readonly onChange: (c: ModelChange) => void,
  ) {}

  /** Loads the model at start-up: a missing or corrupt file, or one that does not fit the mapping, fails the start. */
  async open(): Promise<LoadedModel> {
    const stamp = this.stampNow();
    const bytes = this.read();
    const model = await loadModel(bytes, this.file, this.where);
    this.fits(model);
    this.model = model;
    this.stamp = stamp ?? '';
    return model;
  }

  /** The model for the batch about to run (reloaded first when the file changed since it was read). */
  async current(): Promise<LoadedModel> {
    if (!this.model) throw new TributaryError('TRIB_E_INTERNAL', `${this.where}: model used before open`);
    const stamp = this.stampNow();
    if (stamp !== undefined && stamp !== this.stamp) {
      this.reloading ??= this.reload(stamp).finally(() => (this.reloading = undefined));
      await this.reloading;
    }
    return this.model;
  }

  /** Releases the session. */
  async close(): Promise<void> {
    await this.model?.session.release();
    this.model = undefined;
  }

  private async reload(stamp: string): Promise<void> {
    const previous = this.model!;
    let bytes: Uint8Array;
    try {
      bytes = this.read();
    } catch (err) {
      // Gone (being replaced by a rename?): keep the model, look again at the next batch.
      this.reject(previous, '', err);
      return;
    }
    this.stamp = stamp;
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha === previous.signature.sha256) return; // touched, same content
    try {
      const next = await loadModel(bytes, this.file, this.where);
      this.fits(next);
      this.model = next;
      this.onChange({ outcome: 'loaded', where: this.where, file: this.file, previous: previous.identity, next: next.identity });
      // Batches that took the previous model may still be running it; it is left to the GC.
    } catch (err) {
      this.reject(previous, `sha256:${sha}`, err);
    }
  }

  /** Reports a replacement refused (`next`: what was found, if anything); the previous model stays. */
  private reject(previous: LoadedModel, next: string, err: unknown): void {
    this.onChange({
      outcome: 'rejected',
      where: this.where,
      file: this.file,
      previous: previous.identity,
      next,
      reason: (err as Error).message,
    });
  }

  /** Throws TRIB_E_ML_MODEL when the model's signature does not fit the step's mapping. */
  private fits(model: LoadedModel): void {
    const problems = checkModelMapping(this.config, model.signature);
    if (problems.length > 0) {
      throw new TributaryError(
        'TRIB_E_ML_MODEL',
        `${this.where}: model ${this.file} does not fit the step: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`,
        {
          location: { file: this.file },
        },
      );
    }
  }

  private read(): Uint8Array {
    try {
      return readFileSync(this.file);
    } catch (err) {
      throw new TributaryError('TRIB_E_ML_MODEL', `${this.where}: model ${this.file} cannot be read: ${(err as Error).message}`, {
        cause: err,
        location: { file: this.file },
      });
    }
  }

  /** Inode, size and modification time in nanoseconds; undefined when the file is not there right now. */
  private stampNow(): string | undefined {
    try {
      const s = statSync(this.file, { bigint: true });
      return `${s.ino}:${s.size}:${s.mtimeNs}`;
    } catch {
      return undefined;
    }
  }
}
