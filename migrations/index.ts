import { InitialSchema1763760000000 } from './1763760000000-initial-schema.js';

/** Every migration, oldest first. The only way the schema changes. */
export const MIGRATIONS = [InitialSchema1763760000000];
