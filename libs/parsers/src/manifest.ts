import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { MANIFEST_SCHEMA, type CaptureManifest } from '@threadreel/model';

// ajv-formats is CommonJS: under ESM its plugin is the module's `default` property.
const addFormats = addFormatsModule.default;

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile<CaptureManifest>(MANIFEST_SCHEMA);

export interface ManifestProblem {
  /** JSON pointer of the offending field, e.g. `/files/2/role`; `` for the top level. */
  field: string;
  message: string;
}

export type ManifestCheck =
  { ok: true; manifest: CaptureManifest } | { ok: false; problems: ManifestProblem[] };

/** Validates a parsed manifest.json against MANIFEST_SCHEMA, naming each wrong field and why. */
export function checkManifest(value: unknown): ManifestCheck {
  if (validate(value)) return { ok: true, manifest: value };
  return { ok: false, problems: (validate.errors ?? []).map(describe) };
}

function describe(e: ErrorObject): ManifestProblem {
  const params = e.params as Record<string, unknown>;
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    message = `must be one of ${params.allowedValues.map(String).join(', ')}`;
  } else if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
    return { field: `${e.instancePath}/${params.missingProperty}`, message: 'is required' };
  } else if (e.keyword === 'const') {
    message = `must be ${JSON.stringify(params.allowedValue)}`;
  }
  return { field: e.instancePath, message };
}

/** One line per problem: `files/0/role: must be one of perf, …`. */
export function formatManifestProblems(problems: readonly ManifestProblem[]): string {
  return problems.map((p) => `${p.field.replace(/^\//, '') || '(top level)'}: ${p.message}`).join('; ');
}
