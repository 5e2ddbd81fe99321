/**
 * Runs the Pulumi program (src/index.ts) under `pulumi.runtime.setMocks` with the configuration
 * of one stack file (Pulumi.<stack>.yaml) plus the secrets `pulumi config set --secret` would
 * add, and records every resource it registers. No Pulumi CLI, engine or cluster is involved.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';

/** A resource the program registered, with the inputs it gave. */
export interface Registered {
  type: string;
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- inputs of any resource type
  inputs: any;
}

/** Secrets set per stack, as `pulumi config set --secret` would (test values, recognisable in outputs). */
export const TEST_SECRETS: Record<string, Record<string, string>> = {
  kind: { 'tributary:postgresPassword': 'pg-secret-Zq81', 'tributary:hmacKey': 'hmac-secret-Wd73-0123456789' },
  eks: {
    'tributary:postgresUrl': 'postgres://tributary:rds-secret-Kx55@db.example.internal:5432/tributary',
    'tributary:hmacKey': 'hmac-secret-Wd73-0123456789',
  },
};

/** The `config:` of Pulumi.<stack>.yaml. */
export function stackConfig(stack: string): Record<string, unknown> {
  return parse(readFileSync(path.join(__dirname, '..', `Pulumi.${stack}.yaml`), 'utf8')).config;
}

/** Runs the program for `stack`; resolves with what it registered once its outputs are known. */
export async function runProgram(stack: string): Promise<Registered[]> {
  const registered: Registered[] = [];
  const plain = Object.fromEntries(Object.entries(stackConfig(stack)).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  const secrets = TEST_SECRETS[stack]!;
  pulumi.runtime.setAllConfig({ ...plain, ...secrets }, Object.keys(secrets));
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state = args.type === 'pulumi:pulumi:StackReference' ? { outputs: { kubeconfig: 'apiVersion: v1\nkind: Config\n' } } : {};
        return { id: `${args.name}-id`, state: { ...args.inputs, ...state } };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
      },
    },
    'tributary',
    stack,
  );
  const program = require('../src/index') as Record<string, pulumi.Output<unknown>>;
  await Promise.all(Object.values(program).map((o) => new Promise((resolve) => o.apply(resolve))));
  return registered;
}
